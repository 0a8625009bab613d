"""The SNIP config's training pipeline on generated images: each sample is drawn at one of the
three SNIP scales and carries that scale's original-pixel range, converted to resized pixels."""
import math

import numpy as np
from mmengine.config import Config

from tests._tiny_config import REPO

CFG = f'{REPO}/configs/snip/snip-faster-rcnn_r50_fpn_1x_coco.py'
RANGES = {(2000, 1400): (0, 80), (1200, 800): (40, 160), (800, 480): (120, math.inf)}


def test_snip_pipeline_marks_per_scale_original_ranges(synthetic_tiny):
    from mmdet.datasets import CocoDataset
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(CFG)
    ds = CocoDataset(
        data_root=synthetic_tiny['data_root'], ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'), metainfo=dict(classes=synthetic_tiny['classes']),
        pipeline=cfg.train_dataloader.dataset.pipeline, filter_cfg=None)
    np.random.seed(0)
    seen = set()
    for _ in range(12):
        out = ds[np.random.randint(len(ds))]
        meta = out['data_samples'].metainfo
        sx, sy = meta['scale_factor']
        f = math.sqrt(sx * sy)
        lo, hi = meta['valid_range']
        info = meta['valid_range_info']
        assert info['reference'] == 'original'
        rng = tuple(info['range'])
        assert rng in set(RANGES.values())
        assert math.isclose(lo, rng[0] * f) and (math.isinf(hi) or math.isclose(hi, rng[1] * f))
        # an image-scale pair without valid GT is skipped, so something trains; every trained GT
        # not clipped by the chip border lies in the range (in resized pixels)
        boxes = out['data_samples'].gt_instances.bboxes.tensor
        assert len(boxes) > 0
        h, w = meta['img_shape']
        inner = (boxes[:, 0] > 0) & (boxes[:, 1] > 0) & (boxes[:, 2] < w) & (boxes[:, 3] < h)
        s = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).sqrt()[inner]
        assert bool(((s >= lo - 1e-3) & (s <= hi + 1e-3)).all()), (s, lo, hi)
        seen.add(rng)
        assert max(meta['img_shape']) <= 1000  # a 1000-px chip at most
    assert len(seen) >= 2


def test_snip_assigners_keep_small_invalid_gt_out_of_background():
    """RPN and R-CNN: SNIP's IoU > 0.3 ignore rule plus the small-prior containment rule, on top of
    mmdet's own thresholds."""
    cfg = Config.fromfile(CFG)
    rpn, rcnn = cfg.model.train_cfg.rpn.assigner, cfg.model.train_cfg.rcnn.assigner
    for a in (rpn, rcnn):
        assert a.type == 'ScaleAwareMaxIoUAssigner'
        assert (a.invalid_iou_thr, a.invalid_iof_thr, a.small_prior_max_scale) == (0.3, 0.5, 64)
    assert (rpn.pos_iou_thr, rpn.neg_iou_thr) == (0.7, 0.3)
    assert (rcnn.pos_iou_thr, rcnn.neg_iou_thr) == (0.5, 0.5)
