"""tools/misc/dump_proposals.py: RPN proposals of every training image at every pyramid scale, in
original pixels, in the format ChipDataset reads for its negative chips."""
import os.path as osp
import pickle

import numpy as np
import pytest
import torch

from tests._tiny_config import REPO, load_script

ISN_CFG = osp.join(REPO, 'configs', 'synthetic',
                   'isn-faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py')


def load_tool():
    return load_script('tools/misc/dump_proposals.py')


@pytest.fixture(scope='module')
def isn_setup(synthetic_tiny, tmp_path_factory):
    """The synthetic ISN config on the tiny data and a checkpoint of its (seeded) initial model."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.registry import init_default_scope
    from mmdet_scalenorm.apis.experiment import load_experiment_config
    register_all_modules()
    init_default_scope('mmdet')
    tmp = tmp_path_factory.mktemp('dump_proposals')
    cfg = load_experiment_config(ISN_CFG, synthetic_tiny['data_root'], str(tmp / 'work'),
                                 workers=0)
    cfg.train_dataloader.dataset.cache_dir = str(tmp / 'cache')
    cfg_file = str(tmp / 'isn.py')
    cfg.dump(cfg_file)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    ckpt = str(tmp / 'init.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    return cfg, cfg_file, ckpt, tmp


def test_dump_proposals_every_image_every_scale_in_original_pixels(isn_setup, synthetic_tiny):
    import json
    from mmdet.registry import MODELS, TRANSFORMS
    from mmengine.runner import load_checkpoint
    from mmdet_scalenorm.apis.proposals import image_proposals
    cfg, cfg_file, ckpt, tmp = isn_setup
    out = str(tmp / 'props.pkl')
    load_tool().main([cfg_file, ckpt, out, '--scales', '2', '1', '--topk', '7'])
    table = pickle.load(open(out, 'rb'))
    coco = json.load(open(synthetic_tiny['train_ann']))
    assert set(table) == {im['file_name'] for im in coco['images']}
    for im in coco['images']:
        p = table[im['file_name']]
        assert p.dtype == np.float32 and p.shape == (14, 5)  # 7 per scale, 2 scales
        assert (p[:, 0] >= 0).all() and (p[:, 2] <= im['width']).all()
        assert (p[:, 1] >= 0).all() and (p[:, 3] <= im['height']).all()
        assert (p[:, 2] >= p[:, 0]).all() and (p[:, 3] >= p[:, 1]).all()
        # scores sorted within each scale block
        for blk in (p[:7], p[7:]):
            assert (np.diff(blk[:, 4]) <= 1e-6).all()

    # the x2 block is the RPN on the x2 image, divided by 2 (computed here without rescale)
    model = MODELS.build(cfg.model)
    load_checkpoint(model, ckpt, map_location='cpu', logger='silent')
    model.eval()
    im = coco['images'][0]
    load = TRANSFORMS.build(dict(type='LoadImageFromFile'))
    results = load(dict(img_path=osp.join(synthetic_tiny['train_img'], im['file_name'])))
    resize = TRANSFORMS.build(dict(type='Resize', scale_factor=2.0, keep_ratio=True))
    pack = TRANSFORMS.build(dict(type='PackDetInputs',
                                 meta_keys=('img_shape', 'ori_shape', 'scale_factor')))
    packed = pack(resize(dict(results)))
    with torch.no_grad():
        data = model.data_preprocessor(dict(inputs=[packed['inputs']],
                                            data_samples=[packed['data_samples']]), False)
        (raw, ) = model.rpn_head.predict(model.extract_feat(data['inputs']),
                                         data['data_samples'], rescale=False)
    sx, sy = packed['data_samples'].scale_factor
    top = raw.scores.argsort(descending=True)[:7]
    expect = raw.bboxes[top].numpy() / np.array([sx, sy, sx, sy])
    expect[:, 0::2] = expect[:, 0::2].clip(0, im['width'])
    expect[:, 1::2] = expect[:, 1::2].clip(0, im['height'])
    np.testing.assert_allclose(table[im['file_name']][:7, :4], expect, rtol=1e-5, atol=1e-3)
    # a factor too large for --max-side is skipped
    assert image_proposals(model, results, (2.0, 1.0), 7, max_side=max(
        im['width'], im['height'])).shape == (7, 5)


def test_dumped_proposals_feed_chipdataset_negative_chips(isn_setup):
    """The file is what ChipDataset reads: with it, negative chips are mined."""
    from mmdet_scalenorm.datasets import ChipDataset
    cfg, cfg_file, ckpt, tmp = isn_setup
    out = str(tmp / 'props_all.pkl')
    load_tool().main([cfg_file, ckpt, out, '--topk', '50'])  # the config's 5 factors
    ds_cfg = {k: v for k, v in cfg.train_dataloader.dataset.items() if k != 'type'}
    ds = ChipDataset(**dict(ds_cfg, neg_proposals_file=out, neg_chips_per_image=2))
    assert ds.num_neg > 0
    kinds = {ds.get_chip_info(i)['chip_type'] for i in range(len(ds))}
    assert kinds == {'pos', 'neg'}


def test_dump_proposals_errors(isn_setup, tmp_path):
    cfg, cfg_file, ckpt, _ = isn_setup
    tool = load_tool()
    with pytest.raises(SystemExit, match='checkpoint not found'):
        tool.main([cfg_file, str(tmp_path / 'missing.pth'), str(tmp_path / 'p.pkl')])
    with pytest.raises(SystemExit, match=r'\.pkl'):
        tool.main([cfg_file, ckpt, str(tmp_path / 'p.json')])
    with pytest.raises(SystemExit, match='topk must be >= 1'):
        tool.main([cfg_file, ckpt, str(tmp_path / 'p.pkl'), '--topk', '0'])
    with pytest.raises(SystemExit, match='scale factors must be numbers > 0'):
        tool.main([cfg_file, ckpt, str(tmp_path / 'p.pkl'), '--scales', '1', '-2'])
