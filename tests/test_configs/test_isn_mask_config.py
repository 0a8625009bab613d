"""The ISN Mask R-CNN config (ISN §4.3.1): the ISN recipe with masks loaded, cropped with the chip
and trained by the mask branch on the range-aware RoIs: one real training step on a generated
image through the config's own chip pipeline, then the loss goes down on that fixed batch."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope

from mmdet.registry import MODELS
from tests.test_configs.test_isn_config import REPO, tiny, write_image

MASK_CFG = osp.join(REPO, 'configs', 'isn', 'isn-mask-rcnn_r50_fpn_18e_coco.py')
FASTER_CFG = osp.join(REPO, 'configs', 'isn', 'isn-faster-rcnn_r50_fpn_18e_coco.py')


@pytest.fixture(scope='module')
def cfg():
    return Config.fromfile(MASK_CFG)


def test_same_isn_recipe_as_faster_rcnn_plus_masks(cfg):
    faster = Config.fromfile(FASTER_CFG)
    assert cfg.model.type == 'MaskRCNN' and cfg.model.roi_head.mask_head.type == 'FCNMaskHead'
    # the ISN parts are the Faster R-CNN config's (mmdet's own Mask R-CNN base differs in
    # match_low_quality and mask_size, which stay mmdet's)
    isn_keys = ('type', 'invalid_iou_thr', 'invalid_iof_thr', 'small_prior_max_scale')
    for stage in ('rpn', 'rcnn'):
        a, b = cfg.model.train_cfg[stage].assigner, faster.model.train_cfg[stage].assigner
        assert [a[k] for k in isn_keys] == [b[k] for k in isn_keys], stage
    assert cfg.model.train_cfg.rcnn.sampler == faster.model.train_cfg.rcnn.sampler
    assert cfg.model.test_cfg.rcnn.nms == faster.model.test_cfg.rcnn.nms
    assert cfg.model.test_cfg.rcnn.nms.type == 'soft_nms'
    assert cfg.model.roi_head.type == 'ScaleNormRoIHead'
    ds, fds = cfg.train_dataloader.dataset, faster.train_dataloader.dataset
    assert {k: v for k, v in ds.items() if k != 'pipeline'} == \
        {k: v for k, v in fds.items() if k != 'pipeline'}
    load = [t for t in ds.pipeline if t['type'] == 'LoadAnnotations']
    assert load == [dict(type='LoadAnnotations', with_bbox=True, with_mask=True)]
    assert [t for t in ds.pipeline if t['type'] != 'LoadAnnotations'] == \
        [t for t in fds.pipeline if t['type'] != 'LoadAnnotations']
    assert set(cfg.val_evaluator.metric) == {'bbox', 'segm'}
    assert cfg.tta_model.type == 'ScaleNormTTAModel'


def tiny_mask(cfg):
    cfg = tiny(cfg)
    m = cfg.model.roi_head
    m.mask_roi_extractor.update(out_channels=32)
    m.mask_roi_extractor.roi_layer.sampling_ratio = 2
    m.mask_head.update(in_channels=32, conv_out_channels=32, num_classes=2)
    return cfg


def test_one_step_with_masks_then_loss_decreases(cfg, tmp_path):
    import mmdet_scalenorm  # noqa: F401
    init_default_scope('mmdet')
    cfg = tiny_mask(cfg)
    path = str(tmp_path / 'img.png')
    instances = write_image(path)
    for inst in instances:  # the rectangles as polygons
        x1, y1, x2, y2 = inst['bbox']
        inst['mask'] = [[x1, y1, x2, y1, x2, y2, x1, y2]]
    pipeline = Compose(copy.deepcopy(cfg.train_dataloader.dataset.pipeline))
    torch.manual_seed(0)
    np.random.seed(0)
    items = [pipeline(dict(img_path=path, img_id=i, width=150, height=120,
                           instances=copy.deepcopy(instances), chip_scale_factor=2.0,
                           chip=np.array([0, 0, 576, 576], np.float32), chip_type='pos'))
             for i in range(2)]
    for item in items:
        gt = item['data_samples'].gt_instances
        assert len(gt) == 2 and gt.masks.masks.shape == (2, 240, 300)
        # each valid mask is its box, scaled by 2 (flip or not)
        areas = sorted(float(a) for a in gt.masks.areas)
        assert areas == pytest.approx(sorted([60.0 * 80, 100.0 * 80]), rel=0.05)
        assert len(item['data_samples'].ignored_instances) == 2
    batch = pseudo_collate(items)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))
    masks = []
    for _ in range(5):
        torch.manual_seed(1)
        log_vars = model.train_step(batch, optim)
        assert all(np.isfinite(v.item()) for v in log_vars.values())
        masks.append(log_vars['loss_mask'].item())
    assert masks[-1] < masks[0], masks
