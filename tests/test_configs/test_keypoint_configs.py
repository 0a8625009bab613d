"""The Keypoint R-CNN configs (ISN §4.3.2): the synthetic baseline and ISN, the COCO baseline
(Detectron2's 1x), MS, ISN and ISN with the light head (on COCO and on the benchmark).

Each config loads, survives mmengine's dump/reload and builds; its keypoint parts agree with its
dataset (K, flip swap, OKS sigmas) and the MS/ISN ones are exactly their detection recipe plus
keypoints. Each trains one iteration in a real mmengine Runner on the tiny synthetic benchmark
(the COCO configs on a COCO person-keypoint copy of it) with finite losses, the keypoint loss
included, and the ISN TTA returns (N, 13, 3) keypoints in original-image pixels, each box with the
keypoints its own view predicted.
"""
import copy
import glob
import json
import math
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from tests._tiny_config import REPO

pytestmark = pytest.mark.slow

SYN = osp.join(REPO, 'configs', 'synthetic')
SYN_BASE = osp.join(SYN, 'keypoint-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py')
SYN_ISN = osp.join(SYN, 'isn-keypoint-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py')
SYN_LIGHT = osp.join(SYN, 'isn-keypoint-rcnn-light_r18-tiny_fpn_1xb4-1k_synthetic.py')
COCO_BASE = osp.join(REPO, 'configs', 'keypoint', 'keypoint-rcnn_r50_fpn_1x_coco.py')
COCO_MS = osp.join(REPO, 'configs', 'ms', 'ms-keypoint-rcnn_r50_fpn_18e_coco.py')
COCO_ISN = osp.join(REPO, 'configs', 'isn', 'isn-keypoint-rcnn_r50_fpn_18e_coco.py')
COCO_LIGHT = osp.join(REPO, 'configs', 'isn', 'isn-keypoint-rcnn-light_r50_fpn_18e_coco.py')
SYNTHETIC = [SYN_BASE, SYN_ISN, SYN_LIGHT]
COCO = [COCO_BASE, COCO_MS, COCO_ISN, COCO_LIGHT]
# the COCO person keypoint each synthetic figure keypoint becomes (eyes and ears: not labelled)
FIGURE_TO_PERSON = dict(head='nose', left_hand='left_wrist', right_hand='right_wrist',
                        left_foot='left_ankle', right_foot='right_ankle')


def _ids(path):
    return osp.relpath(path, osp.join(REPO, 'configs'))


def _register():
    import mmdet_scalenorm  # noqa: F401
    from mmdet.utils import register_all_modules
    register_all_modules()


def _inner(dataset_cfg):
    while 'dataset' in dataset_cfg:
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


@pytest.fixture(scope='module')
def coco_tiny(synthetic_tiny, tmp_path_factory):
    """A COCO person-keypoint copy of the tiny benchmark: its figures as 'person' with the 17
    COCO keypoints (figure keypoints mapped by name, eyes and ears v=0), the other shapes left
    out, laid out as data/coco/ (annotations/person_keypoints_{train,val}2017.json, images in
    train2017/ and val2017/)."""
    from mmdet_scalenorm.datasets.coco_keypoint import COCO_PERSON_KEYPOINTS
    from mmdet_scalenorm.datasets.synthetic import FIGURE_KEYPOINTS
    root = tmp_path_factory.mktemp('coco_kps')
    os.makedirs(root / 'annotations')
    where = [COCO_PERSON_KEYPOINTS.index(FIGURE_TO_PERSON.get(n, n)) for n in FIGURE_KEYPOINTS]
    for split, ann in (('train', synthetic_tiny['train_ann']), ('val', synthetic_tiny['val_ann'])):
        data = json.load(open(ann))
        (fig, ) = [c['id'] for c in data['categories'] if c['name'] == 'figure']
        anns = []
        for a in data['annotations']:
            if a['category_id'] != fig:
                continue
            kps = np.zeros((17, 3))
            kps[where] = np.asarray(a['keypoints'], float).reshape(-1, 3)
            anns.append(dict(a, category_id=1, keypoints=kps.reshape(-1).tolist(),
                             num_keypoints=int((kps[:, 2] > 0).sum())))
        data.update(annotations=anns, categories=[dict(
            id=1, name='person', supercategory='person', keypoints=list(COCO_PERSON_KEYPOINTS),
            skeleton=[])])
        json.dump(data, open(root / 'annotations' / f'person_keypoints_{split}2017.json', 'w'))
        os.symlink(synthetic_tiny[f'{split}_img'], root / f'{split}2017')
    return str(root)


# ---------------------------------------------------------------------------------- settings
def test_synthetic_metainfo_is_the_package_one():
    from mmdet_scalenorm.datasets.coco_keypoint import SYNTHETIC_KEYPOINT_METAINFO as META
    for path in SYNTHETIC:
        cfg = Config.fromfile(path)
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            ds = _inner(cfg[loader].dataset)
            assert ds.type == 'CocoKeypointDataset'
            m = ds.metainfo
            assert tuple(m['classes']) == META['classes']
            assert [tuple(c) for c in m['palette']] == [tuple(c) for c in META['palette']]
            assert tuple(m['keypoint_names']) == META['keypoint_names']
            assert [list(p) for p in m['skeleton']] == META['skeleton']
            assert list(m['flip_indices']) == META['flip_indices']
            assert list(m['sigmas']) == pytest.approx(list(META['sigmas']), abs=0)
        # images without a figure keep training their boxes, as in the detection configs
        assert _inner(cfg.train_dataloader.dataset).filter_cfg == dict(
            filter_empty_gt=True, min_size=32, filter_empty_keypoints=False)


@pytest.mark.parametrize('path', SYNTHETIC + COCO, ids=_ids)
def test_roundtrip_build_and_keypoint_parts(path, tmp_path):
    from mmdet.registry import MODELS, TRANSFORMS
    _register()
    cfg = Config.fromfile(path)
    cfg.dump(str(tmp_path / 'dumped.py'))
    again = Config.fromfile(str(tmp_path / 'dumped.py'))
    for key in ('model', 'train_dataloader', 'val_dataloader', 'val_evaluator'):
        assert again[key] == cfg[key], key
    k = 13 if path in SYNTHETIC else 17
    model = MODELS.build(again.model)
    assert type(model.roi_head).__name__ == 'KeypointRoIHead'
    assert model.roi_head.keypoint_head.num_keypoints == k
    assert model.roi_head.bbox_head.num_classes == (5 if path in SYNTHETIC else 1)
    ev = cfg.val_evaluator
    assert (ev.type, list(ev.metric), [tuple(r) for r in ev.scale_ranges]) == \
        ('CocoKeypointMetric', ['bbox', 'keypoints'], [(16, 560)])
    if path in COCO:
        assert ev.ann_file == 'data/coco/annotations/person_keypoints_val2017.json'
        assert _inner(cfg.train_dataloader.dataset).ann_file == \
            'annotations/person_keypoints_train2017.json'
        assert tuple(_inner(cfg.train_dataloader.dataset).metainfo['classes']) == ('person', )
    # every training transform that touches annotations or geometry handles the keypoints
    pipeline = cfg.train_dataloader.dataset.pipeline
    types = [t['type'] for t in pipeline]
    assert not {'LoadAnnotations', 'Resize', 'RandomFlip', 'PackDetInputs'} & set(types)
    assert {'LoadAnnotationsWithKeypoints', 'KeypointRandomFlip', 'PackScaleNormInputs'} <= \
        set(types)
    for t in pipeline:
        TRANSFORMS.build(t)
    if 'tta_model' in cfg:
        # the views pack the dataset's flip_indices (used to flip keypoints back)
        pack = TRANSFORMS.build(cfg.tta_pipeline[-1].transforms[-1][0])
        assert 'flip_indices' in pack.meta_keys
        tta = MODELS.build(dict(**again.tta_model, module=again.model))
        assert type(tta).__name__ == 'ScaleNormTTAModel'


def test_method_configs_are_their_detection_recipe_plus_keypoints():
    swap = dict(LoadAnnotations='LoadAnnotationsWithKeypoints', RandomFlip='KeypointRandomFlip')
    pairs = [(SYN_ISN, osp.join(SYN, 'isn-faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py')),
             (COCO_ISN, osp.join(REPO, 'configs', 'isn', 'isn-faster-rcnn_r50_fpn_18e_coco.py')),
             (COCO_MS, osp.join(REPO, 'configs', 'ms', 'ms-faster-rcnn_r50_fpn_18e_coco.py'))]
    for kps_path, det_path in pairs:
        kps, det = Config.fromfile(kps_path), Config.fromfile(det_path)
        ds, dds = kps.train_dataloader.dataset, det.train_dataloader.dataset
        assert ds.type == dds.type == 'ChipDataset'
        assert {k: v for k, v in ds.items() if k not in ('pipeline', 'dataset')} == \
            {k: v for k, v in dds.items() if k not in ('pipeline', 'dataset')}
        assert [dict(t, type=swap.get(t['type'], t['type'])) for t in dds.pipeline] == \
            ds.pipeline
        assert kps.train_dataloader.sampler == det.train_dataloader.sampler
        assert kps.tta_model == det.tta_model
        for part in ('train_cfg', 'param_scheduler', 'optim_wrapper'):
            assert kps[part] == det[part], (kps_path, part)
        # the model's scale-normalization parts are the detection config's
        for stage in ('rpn', 'rcnn'):
            assert kps.model.train_cfg[stage].assigner == det.model.train_cfg[stage].assigner
        assert kps.model.train_cfg.rcnn.sampler == det.model.train_cfg.rcnn.sampler
        assert kps.model.test_cfg.rcnn.nms == det.model.test_cfg.rcnn.nms
    # the light head is the ISN config with ISN §4.3.2's head, nothing else (on the benchmark
    # with the width and depth of its Mask R-CNN head: 4 convs of 64 channels)
    for light_path, isn_path, nk, width, convs in ((COCO_LIGHT, COCO_ISN, 17, 256, 8),
                                                  (SYN_LIGHT, SYN_ISN, 13, 64, 4)):
        light, isn = Config.fromfile(light_path), Config.fromfile(isn_path)
        head = light.model.roi_head.keypoint_head
        assert (head.type, head.num_keypoints, head.in_channels) == ('ISNKeypointHead', nk, width)
        assert head.get('num_convs', 8) == convs
        assert head.get('conv_out_channels', 256) == width
        assert tuple(light.model.roi_head.keypoint_roi_extractor.roi_layer.output_size) == \
            (22, 16)
        extractor = dict(light.model.roi_head.keypoint_roi_extractor)
        extractor['roi_layer'] = dict(extractor['roi_layer'],
                                      output_size=isn.model.roi_head.keypoint_roi_extractor
                                      .roi_layer.output_size)
        assert extractor == isn.model.roi_head.keypoint_roi_extractor
        strip = ('keypoint_head', 'keypoint_roi_extractor')
        assert {k: v for k, v in light.model.roi_head.items() if k not in strip} == \
            {k: v for k, v in isn.model.roi_head.items() if k not in strip}
        assert light.train_dataloader == isn.train_dataloader and light.tta_model == isn.tta_model
        for part in ('train_cfg', 'param_scheduler', 'optim_wrapper', 'val_evaluator'):
            assert light[part] == isn[part], (light_path, part)
        assert {k: v for k, v in light.model.items() if k != 'roi_head'} == \
            {k: v for k, v in isn.model.items() if k != 'roi_head'}
    # the COCO baseline: Detectron2's keypoint_rcnn_R_50_FPN_1x
    base = Config.fromfile(COCO_BASE)
    assert base.train_cfg.max_iters == 90000
    assert base.param_scheduler[1].milestones == [60000, 80000]
    assert base.param_scheduler[0].end == 1000 and base.optim_wrapper.optimizer.lr == 0.02
    resize = base.train_dataloader.dataset.pipeline[2]
    assert [s[1] for s in resize.scales] == list(range(640, 801, 32))
    assert resize.resize_type == 'KeypointResize'
    assert base.model.train_cfg.rpn_proposal.max_per_img == 1500
    assert base.model.roi_head.keypoint_head.type == 'KeypointRCNNHead'
    assert 'tta_model' not in base


def test_model_index_lists_every_keypoint_config_with_its_target():
    """Every keypoint config is in the model index under its own name. The COCO ones are not
    trained (no numbers of ours); a synthetic one either is not trained yet or has both its
    bundled checkpoint and its Results (their values: test_model_zoo.py)."""
    from mmdet_scalenorm.utils import model_zoo as mz
    models = {m.config: m for m in mz.load_model_index()}
    for path in SYNTHETIC + COCO:
        m = models[osp.relpath(path, REPO)]
        assert m.name + '.py' == osp.basename(path)
        if path in COCO or m.weights is None:
            assert m.weights is None and 'Results' not in m.data, m.name
        else:  # its shipped file (ModelEntry.mirror: None when it is missing) and numbers
            assert m.mirror and osp.basename(m.mirror).startswith(m.name + '_'), m.weights
            assert m.data['Results'], m.name
    target = {p: models[osp.relpath(p, REPO)].metadata.get('Paper Result') for p in COCO}
    assert target == {
        COCO_BASE: 'Detectron2 keypoint_rcnn_R_50_FPN_1x: 64.0 kp AP',
        COCO_MS: 'ISN Table 9 "MS Train&MS Test", with the light kps head: 61.8 kp AP',
        COCO_ISN: 'ISN Table 9, with the light kps head: 65.2 kp AP',
        COCO_LIGHT: 'ISN Table 9: 65.2 kp AP'}


# ---------------------------------------------------------------------------------- training
def _losses(work_dir):
    rows = [json.loads(line) for f in glob.glob(osp.join(work_dir, '*', 'vis_data',
                                                         'scalars.json'))
            for line in open(f) if 'loss' in line]
    assert [r['iter'] for r in rows] == [1], rows
    return rows[0]


def _figure_batch(cfg, n=2):
    """The first ``n`` training items (the config's own dataset and pipeline) with a labelled
    keypoint among their valid GT."""
    from mmdet.registry import DATASETS
    from mmengine.dataset import pseudo_collate
    ds = DATASETS.build(copy.deepcopy(cfg.train_dataloader.dataset))
    items = []
    for i in range(len(ds)):
        item = ds[i]
        if (item['data_samples'].gt_instances.keypoints[..., 2] > 0).any():
            items.append(item)
        if len(items) == n:
            return pseudo_collate(items)
    raise AssertionError(f'fewer than {n} training items with keypoints')


@pytest.fixture(scope='module')
def synthetic_runs(synthetic_tiny, tmp_path_factory):
    """One training iteration of each synthetic keypoint config (mmengine Runner, batch 2)."""
    from mmdet_scalenorm.apis.experiment import load_experiment_config, set_iterations, train
    _register()
    runs = {}
    for path in SYNTHETIC:
        work = str(tmp_path_factory.mktemp('kps_work'))
        cfg = load_experiment_config(path, synthetic_tiny['data_root'], work, workers=0,
                                     batch_size=2)
        if cfg.train_dataloader.dataset.type == 'ChipDataset':
            cfg.train_dataloader.dataset.cache_dir = osp.join(work, 'chip_cache')
        cfg.default_hooks.logger.interval = 1
        set_iterations(cfg, 1)
        runs[path] = (cfg, train(cfg))
    return runs


@pytest.mark.parametrize('path', SYNTHETIC, ids=_ids)
def test_synthetic_config_trains_one_iteration_with_keypoint_loss(path, synthetic_runs):
    from mmdet.registry import MODELS
    from mmengine.optim import OptimWrapper
    cfg, ckpt = synthetic_runs[path]
    assert osp.isfile(ckpt)
    row = _losses(cfg.work_dir)
    light = path == SYN_LIGHT
    kps = {'loss_kpt_heatmap', 'loss_kpt_offset'} if light else {'loss_keypoint'}
    assert {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'} | kps <= set(row)
    assert all(math.isfinite(v) for k, v in row.items() if k.startswith('loss'))
    batch = _figure_batch(cfg)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    log_vars = model.train_step(batch, OptimWrapper(torch.optim.SGD(model.parameters(), lr=0)))
    if not light:
        # on items with figures the keypoint loss is the spatial-softmax cross-entropy of an
        # untrained head: close to a uniform guess over the 56 x 56 heatmap, log(3136) = 8.05
        assert abs(log_vars['loss_keypoint'].item() - math.log(56 * 56)) < 1.0
        return
    # the light head's untrained outputs are ~0 (predictor std 0.001): smooth-L1 gives 0.5 per
    # positive cell (target 1), and each labelled keypoint has 1 to 5 positive cells (its own
    # and the cell centres within 1 cell): the heatmap loss per keypoint lies in [0.5, 2.5]
    assert 0.5 - 0.05 <= log_vars['loss_kpt_heatmap'].item() <= 2.5 + 0.05
    assert log_vars['loss_kpt_offset'].item() > 0


def _one_iteration(cfg):
    """An epoch-based COCO schedule as one iteration (checkpoint and log at it)."""
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=1, val_interval=10 ** 6)
    cfg.param_scheduler = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.log_processor = dict(by_epoch=False)
    return cfg


def _tiny_r50(cfg):
    """The COCO R50-FPN Keypoint R-CNN shrunk for a CPU step: ResNet-18 of 16 base channels,
    32-channel FPN and heads, 2 keypoint convs, few RoIs."""
    m = cfg.model
    m.backbone.update(depth=18, base_channels=16, init_cfg=None)
    m.neck.update(in_channels=[16, 32, 64, 128], out_channels=32)
    m.rpn_head.update(in_channels=32, feat_channels=32)
    rh = m.roi_head
    rh.bbox_roi_extractor.update(out_channels=32)
    rh.bbox_roi_extractor.roi_layer.sampling_ratio = 2
    rh.bbox_head.update(in_channels=32, fc_out_channels=64)
    rh.keypoint_roi_extractor.update(out_channels=32)
    rh.keypoint_roi_extractor.roi_layer.sampling_ratio = 2
    rh.keypoint_head.update(in_channels=32, num_convs=2, conv_out_channels=32)
    m.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=100)
    m.train_cfg.rcnn.sampler.num = 64
    return cfg


@pytest.mark.parametrize('path', COCO, ids=_ids)
def test_coco_config_trains_one_iteration_on_person_keypoints(path, coco_tiny, tmp_path):
    from mmdet.registry import DATASETS
    from mmdet_scalenorm.apis.experiment import load_experiment_config, set_iterations, train
    _register()
    cfg = load_experiment_config(path, coco_tiny, str(tmp_path / 'work'), workers=0,
                                 batch_size=2)
    assert cfg.val_evaluator.ann_file == \
        osp.join(coco_tiny, 'annotations', 'person_keypoints_val2017.json')
    _tiny_r50(cfg)
    if cfg.train_cfg.type == 'IterBasedTrainLoop':
        set_iterations(cfg, 1)
        cfg.default_hooks.logger.interval = 1
    else:
        _one_iteration(cfg)
    inner = DATASETS.build(dict(_inner(cfg.train_dataloader.dataset), pipeline=[]))
    # COCO person keypoints: 17 names, flip from left_/right_, pycocotools' sigmas; the images
    # without a person are left out of training (3 of the 6 have figures)
    assert inner.metainfo['flip_indices'] == [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13,
                                              16, 15]
    assert len(inner) == 3
    if cfg.train_dataloader.dataset.type == 'ChipDataset':
        cfg.train_dataloader.dataset.cache_dir = str(tmp_path / 'chip_cache')
    assert osp.isfile(train(cfg))
    row = _losses(cfg.work_dir)
    kps = {k for k in row if k.startswith('loss_k')}
    assert kps == ({'loss_kpt_heatmap', 'loss_kpt_offset'} if path == COCO_LIGHT
                   else {'loss_keypoint'})
    assert all(math.isfinite(v) for k, v in row.items() if k.startswith('loss'))
    # every training image or chip holds a valid person, always a positive RoI (GT are added to
    # the proposals): the keypoint loss is never the zero of a batch without keypoints
    assert all(row[k] > 0 for k in kps)


# ---------------------------------------------------------------------------------- ISN test
def test_isn_tta_keypoints_in_original_pixels_from_their_own_view(synthetic_tiny,
                                                                   synthetic_runs):
    from mmengine.dataset import pseudo_collate
    from mmdet_scalenorm.apis import inference_scalenorm, init_scalenorm_detector
    from mmdet_scalenorm.apis.inference import _tta_pipeline
    from mmdet_scalenorm.utils import allow_full_checkpoint_load, set_data_root
    allow_full_checkpoint_load()  # our own checkpoint (mmengine writes numpy state in it)
    _, ckpt = synthetic_runs[SYN_ISN]
    cfg = set_data_root(Config.fromfile(SYN_ISN), synthetic_tiny['data_root'])
    model = init_scalenorm_detector(cfg, ckpt, device='cpu', tta=True)
    img = osp.join(synthetic_tiny['val_img'], sorted(os.listdir(synthetic_tiny['val_img']))[0])
    res = inference_scalenorm(model, img)
    h, w = res.ori_shape
    pred = res.pred_instances
    n = len(pred.bboxes)
    assert n > 0 and pred.keypoints.shape == (n, 13, 3) and pred.keypoints.dtype == torch.float32

    # the same views, run one by one through the detector (rescaled to the original image)
    batch = pseudo_collate([_tta_pipeline(model.cfg, False)(dict(img_path=img, img_id=0))])
    views = [{k: v[i] for k, v in batch.items()} for i in range(len(batch['inputs']))]
    assert [v['data_samples'][0].metainfo['scale_factor'][0] for v in views] == \
        pytest.approx([4, 2, 1, .5, .25], rel=0.02)
    with torch.no_grad():
        per_view = [model.module.test_step(v)[0].pred_instances for v in views]
        # the x4 view in its own (resized) pixels: 4 times the original-pixel keypoints
        data = model.module.data_preprocessor(views[0], False)
        raw = model.module.predict(data['inputs'], data['data_samples'], rescale=False)[0]
    sx, sy = views[0]['data_samples'][0].metainfo['scale_factor']
    assert torch.allclose(raw.pred_instances.keypoints[..., 0],
                          per_view[0].keypoints[..., 0] * sx, rtol=1e-4, atol=1e-2)
    assert torch.allclose(raw.pred_instances.keypoints[..., 1],
                          per_view[0].keypoints[..., 1] * sy, rtol=1e-4, atol=1e-2)
    # every merged detection is a view's box with that view's keypoints, inside its box
    for box, kps in zip(pred.bboxes, pred.keypoints):
        hits = [(v, i) for v, p in enumerate(per_view)
                for i in torch.nonzero((p.bboxes == box).all(1)).flatten().tolist()]
        assert hits, box
        v, i = hits[0]
        assert torch.equal(per_view[v].keypoints[i], kps)
        assert ((kps[:, 0] >= box[0] - 1e-3) & (kps[:, 0] <= box[2] + 1e-3)).all()
        assert ((kps[:, 1] >= box[1] - 1e-3) & (kps[:, 1] <= box[3] + 1e-3)).all()
    assert (pred.keypoints[..., 0] <= w + 1e-3).all() and (pred.keypoints[..., 1] <= h + 1e-3).all()

    # flipped views (isn.py's test with a flip list) carry the dataset's flip_indices to the merger
    from mmdet.registry import DATASETS
    from mmdet_scalenorm.datasets.coco_keypoint import SYNTHETIC_KEYPOINT_METAINFO
    views = copy.deepcopy(cfg.tta_pipeline)
    views[1].transforms[1] = [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)]
    item = DATASETS.build(dict(cfg.test_dataloader.dataset, pipeline=views))[0]
    assert [s.metainfo['flip'] for s in item['data_samples']] == [True, False] * 5
    assert all(s.metainfo['flip_indices'] == SYNTHETIC_KEYPOINT_METAINFO['flip_indices']
               for s in item['data_samples'])
    with torch.no_grad():
        flipped = model.test_step(pseudo_collate([item]))[0].pred_instances
    assert len(flipped) > 0 and flipped.keypoints.shape == (len(flipped), 13, 3)
