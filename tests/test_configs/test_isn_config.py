"""The ISN Faster R-CNN config: its settings (ISN §4.1, SNIP §6.1), one training iteration through
its real train pipeline on a generated image, and the loss going down on a fixed batch."""
import copy
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope

from mmdet.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ISN_CFG = osp.join(REPO, 'configs', 'isn', 'isn-faster-rcnn_r50_fpn_18e_coco.py')


@pytest.fixture(scope='module')
def cfg():
    return Config.fromfile(ISN_CFG)


def test_isn_settings(cfg):
    assert cfg.custom_imports == dict(imports=['mmdet_scalenorm'], allow_failed_imports=False)
    ds = cfg.train_dataloader.dataset
    assert ds.type == 'ChipDataset' and cfg.train_dataloader.sampler.type == 'ChipEpochSampler'
    assert tuple(ds.scale_factors) == (4.0, 2.0, 1.0, 0.5, 0.25)
    assert tuple(ds.valid_range) == (16, 560) and ds.reference == 'resized'
    assert (ds.chip_size, ds.stride) == (576, 32)  # ISN §4.2.4: 576-px patches
    assert ds.dataset.type == 'CocoDataset' and ds.dataset.pipeline == []
    types = [t['type'] for t in ds.pipeline]
    assert types == ['LoadImageFromFileOrSkip', 'LoadAnnotations', 'ResizeToChipScale',
                     'MarkValidRange', 'SampleChip', 'RandomFlip', 'PackScaleNormInputs']
    mark, chip, _, pack = ds.pipeline[3:]
    assert tuple(mark.valid_range) == (16, 560) and chip.chip_size == 576
    from mmdet.registry import TRANSFORMS
    assert {'valid_range', 'valid_range_info', 'chip'} <= set(TRANSFORMS.build(pack).meta_keys)
    # soft-NMS replaces the NMS after the detection head (ISN §4.1)
    assert cfg.model.test_cfg.rcnn.nms.type == 'soft_nms'
    tc = cfg.model.train_cfg
    assert tc.rpn.assigner.type == tc.rcnn.assigner.type == 'ScaleAwareMaxIoUAssigner'
    assert tc.rpn.assigner.invalid_iou_thr == tc.rcnn.assigner.invalid_iou_thr == 0.3
    # small invalid GT are never taught as background, in the RPN and in the R-CNN head
    assert tc.rpn.assigner.invalid_iof_thr == tc.rcnn.assigner.invalid_iof_thr == 0.5
    assert tc.rpn.assigner.small_prior_max_scale == tc.rcnn.assigner.small_prior_max_scale == 64
    # the parent's thresholds survive the merge
    assert (tc.rpn.assigner.pos_iou_thr, tc.rcnn.assigner.pos_iou_thr) == (0.7, 0.5)
    assert tc.rcnn.sampler.type == 'ValidRangeSampler'
    assert tuple(tc.rcnn.sampler.valid_range) == (16, 560) and tc.rcnn.sampler.num == 512
    assert cfg.model.roi_head.type == 'ScaleNormRoIHead'
    # ISN §4.1 schedule: 18 epochs, lr 0.00125 * 16, /10 twice, 1-epoch warm-up
    assert cfg.train_cfg.max_epochs == 18
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(0.00125 * 16)
    assert cfg.auto_scale_lr.base_batch_size == 16
    warm, step = cfg.param_scheduler
    assert warm.type == 'LinearLR' and (warm.begin, warm.end) == (0, 1)
    assert warm.convert_to_iter_based
    assert step.milestones == [15, 17] and step.gamma == 0.1 and step.end == 18
    # the real pretrained backbone stays
    assert cfg.model.backbone.init_cfg == dict(type='Pretrained',
                                               checkpoint='torchvision://resnet50')


def test_method_bases_specialise_the_pyramid_tta_with_their_own_factors_and_ranges():
    """ISN's and SNIP's method bases set their test: ../tta/pyramid_tta.py with their views, the
    same merger (soft-NMS, 100 per image) and the same steps after the views; ISN's views and range
    are isn.py's own factors and range, SNIP's views carry its per-scale ranges."""
    base = osp.join(REPO, 'configs', '_base_')
    pyramid = Config.fromfile(osp.join(base, 'tta', 'pyramid_tta.py'))
    isn = isn_tta = Config.fromfile(osp.join(base, 'scale_norm', 'isn.py'))
    snip_tta = Config.fromfile(osp.join(base, 'scale_norm', 'snip.py'))
    for tta in (isn_tta, snip_tta):
        assert tta.tta_model.type == 'ScaleNormTTAModel'
        assert tta.tta_model.tta_cfg == pyramid.tta_model.tta_cfg
        assert tta.tta_pipeline[0] == pyramid.pyramid_tta_pipeline[0]
        assert tta.tta_pipeline[1].transforms[1:] == \
            pyramid.pyramid_tta_pipeline[1].transforms[1:]
        assert tta.tta_pipeline[1].transforms[-1] == [dict(type='PackScaleNormInputs')]
    assert tuple(isn_tta.tta_model.valid_range) == tuple(isn.isn_range)
    views = isn_tta.tta_pipeline[1].transforms[0]
    assert tuple(v.scale_factor for v in views) == tuple(isn.isn_factors)
    assert snip_tta.tta_pipeline[1].transforms[0] == snip_tta.snip_tta_views
    assert 'valid_range' not in snip_tta.tta_model  # SNIP: each view carries its own


def test_full_model_builds(cfg):
    import mmdet_scalenorm  # noqa: F401
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    from mmdet_scalenorm.models.roi_heads import ScaleNormRoIHead
    from mmdet_scalenorm.models.task_modules.assigners import ScaleAwareMaxIoUAssigner
    from mmdet_scalenorm.models.task_modules.samplers import ValidRangeSampler
    assert isinstance(model.roi_head, ScaleNormRoIHead)
    assert isinstance(model.roi_head.bbox_assigner, ScaleAwareMaxIoUAssigner)
    assert isinstance(model.rpn_head.assigner, ScaleAwareMaxIoUAssigner)
    assert isinstance(model.roi_head.bbox_sampler, ValidRangeSampler)
    assert model.roi_head.bbox_sampler.valid_range == (16.0, 560.0)


def tiny(cfg):
    """The ISN model with a tiny ResNet-18 (base 16 channels), 32-channel FPN, few RoIs."""
    cfg = copy.deepcopy(cfg)
    m = cfg.model
    m.backbone.update(depth=18, base_channels=16, init_cfg=None)
    m.neck.update(in_channels=[16, 32, 64, 128], out_channels=32)
    m.rpn_head.update(in_channels=32, feat_channels=32)
    m.roi_head.bbox_roi_extractor.update(out_channels=32)
    m.roi_head.bbox_roi_extractor.roi_layer.sampling_ratio = 2
    m.roi_head.bbox_head.update(in_channels=32, fc_out_channels=64, num_classes=2)
    m.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=100)
    m.train_cfg.rcnn.sampler.num = 64
    return cfg


def write_image(path):
    """A 150x120 image with 4 rectangles. At scale factor 2: two valid (scale 69 and 89 px), one
    5x5 box becoming 10x10 (< 16: invalid) and one crowd box."""
    img = np.full((120, 150, 3), 40, np.uint8)
    boxes = [([10, 10, 40, 50], 0, 0), ([70, 20, 120, 60], 1, 0), ([100, 90, 105, 95], 0, 0),
             ([20, 70, 60, 110], 1, 1)]  # (xyxy, label, crowd)
    for (x1, y1, x2, y2), label, _ in boxes:
        img[y1:y2, x1:x2] = (200, 60, 60) if label == 0 else (60, 200, 90)
    mmcv.imwrite(img, path)
    return [dict(bbox=b, bbox_label=lab, ignore_flag=crowd) for b, lab, crowd in boxes]


def test_one_iteration_then_loss_decreases_on_fixed_batch(cfg, tmp_path):
    import mmdet_scalenorm  # noqa: F401
    init_default_scope('mmdet')
    cfg = tiny(cfg)
    path = str(tmp_path / 'img.png')
    instances = write_image(path)
    pipeline = Compose(copy.deepcopy(cfg.train_dataloader.dataset.pipeline))

    torch.manual_seed(0)
    np.random.seed(0)
    # the item ChipDataset would give: factor 2 of the pyramid, the chip at the origin
    items = [pipeline(dict(img_path=path, img_id=i, width=150, height=120,
                           instances=copy.deepcopy(instances), chip_scale_factor=2.0,
                           chip=np.array([0, 0, 576, 576], np.float32), chip_type='pos'))
             for i in range(2)]
    for item in items:
        sample = item['data_samples']
        assert sample.metainfo['valid_range'] == (16.0, 560.0)
        assert sample.metainfo['valid_range_info']['num_invalid'] == 1
        assert len(sample.gt_instances) == 2  # the valid ones
        assert len(sample.ignored_instances) == 2  # the 10 px one and the crowd one
        assert tuple(item['inputs'].shape[1:]) == (240, 300)
    batch = pseudo_collate(items)

    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))
    # count the anchors / proposals the SNIP §6.1 rule ignores inside the real training step
    hits = dict(rpn=[], rcnn=[])
    for key, assigner in (('rpn', model.rpn_head.assigner), ('rcnn', model.roi_head.bbox_assigner)):
        orig = assigner.overlaps_invalid
        assigner.overlaps_invalid = (
            lambda p, g, orig=orig, key=key: hits[key].append(orig(p, g)) or hits[key][-1])
    totals = []
    for _ in range(5):
        torch.manual_seed(1)  # same RoI sampling each iteration: a fixed batch, fixed samples
        log_vars = model.train_step(batch, optim)
        assert all(np.isfinite(v.item()) for v in log_vars.values())
        totals.append(log_vars['loss'].item())
    # anchors around the crowd box are always ignored; the R-CNN rule ran on every image
    assert len(hits['rpn']) == len(hits['rcnn']) == 5 * 2 and all(h.any() for h in hits['rpn'])
    assert {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'} <= set(log_vars)
    assert totals[-1] < totals[0], totals


def test_metafile_lists_the_config_without_results():
    import yaml
    meta = yaml.safe_load(open(osp.join(REPO, 'configs', 'isn', 'metafile.yml')))
    names = [m['Name'] for m in meta['Models']]
    assert names == ['isn-faster-rcnn_r50_fpn_18e_coco', 'isn-mask-rcnn_r50_fpn_18e_coco',
                     'isn-keypoint-rcnn_r50_fpn_18e_coco',
                     'isn-keypoint-rcnn-light_r50_fpn_18e_coco']
    for model in meta['Models']:
        assert model['In Collection'] == meta['Collections'][0]['Name'] == 'ISN'
        assert osp.basename(model['Config']) == model['Name'] + '.py'
        assert osp.isfile(osp.join(REPO, model['Config']))
        epochs = Config.fromfile(osp.join(REPO, model['Config'])).train_cfg.max_epochs
        assert model['Metadata']['Epochs'] == epochs
        assert 'Results' not in model and 'Weights' not in model  # not trained yet: no numbers


def test_isn_coarse64_tta_gives_each_view_its_range(synthetic_tiny):
    """isn_tta_coarse64.py = isn.py's test views and steps, each view marked with its own range in
    its resized pixels ([16, 560] for x4, x2, x1; [64, 560] for x0.5, x0.25), merged with
    Gaussian soft-NMS; running the views on an image writes those ranges into their metainfo."""
    import json
    import mmdet_scalenorm  # noqa: F401
    base = osp.join(REPO, 'configs', '_base_')
    isn = isn_tta = Config.fromfile(osp.join(base, 'scale_norm', 'isn.py'))
    tuned = Config.fromfile(osp.join(base, 'tta', 'isn_tta_coarse64.py'))
    assert tuned.tta_model.tta_cfg.nms == dict(type='soft_nms', method='gaussian',
                                               iou_threshold=0.3, sigma=0.5, min_score=1e-3)
    assert tuned.tta_model.tta_cfg.max_per_img == isn_tta.tta_model.tta_cfg.max_per_img
    assert tuple(tuned.tta_model.valid_range) == tuple(isn.isn_range)
    assert tuned.tta_pipeline[1].transforms[1:] == isn_tta.tta_pipeline[1].transforms[1:]
    views = tuned.tta_pipeline[1].transforms[0]
    assert [v.transforms[0] for v in views] == list(isn_tta.tta_pipeline[1].transforms[0])
    init_default_scope('mmdet')
    with open(synthetic_tiny['val_ann']) as f:
        img = json.load(f)['images'][0]
    pipe = Compose(tuned.tta_pipeline)
    out = pipe(dict(img_path=osp.join(synthetic_tiny['val_img'], img['file_name']),
                    img_id=img['id'],
                    instances=[]))
    got = [(s.metainfo['scale_factor'], tuple(s.metainfo['valid_range']))
           for s in out['data_samples']]
    assert len(got) == 5
    for (sf, rng), f in zip(got, isn.isn_factors):
        assert sf == pytest.approx((f, f), rel=0.02)
        assert rng == ((64.0, 560.0) if f < 1 else tuple(float(x) for x in isn.isn_range))
