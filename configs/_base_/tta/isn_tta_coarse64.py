# ISN multi-scale inference with per-view test ranges, chosen on the tune split (benchmark data
# seed 1, never the reported one): ISN's test (../scale_norm/isn.py), but the two coarse views
# (x0.5, x0.25) keep only detections of at least 64 px in their resized image ([64, 560]; the
# fine views keep the training range [16, 560]), and the views are merged with Gaussian soft-NMS (sigma 0.5). SNIP's and
# SNIPER's tests also give each resolution its own range; ISN §3.3.1 uses the training range
# everywhere, which is isn.py's test. Small objects are seen by the x4/x2/x1 views at a better
# resolution; the thumbnails' small detections are mostly duplicates and false positives.
# Each view carries its range in its metainfo (Compose([Resize, MarkValidRange])), so the order
# of the views cannot mis-assign it.
_base_ = ['../scale_norm/isn.py']

isn_coarse_view_range = (64, _base_.isn_range[1])
isn_view_ranges = [(f, isn_coarse_view_range if f < 1 else _base_.isn_range)
                   for f in _base_.isn_factors]

tta_model = dict(
    tta_cfg=dict(
        nms=dict(type='soft_nms', method='gaussian', iou_threshold=0.3, sigma=0.5,
                 min_score=1e-3),
        max_per_img=100))
tta_pipeline = [
    _base_.pyramid_tta_pipeline[0],
    dict(_base_.pyramid_tta_pipeline[1],
         transforms=[[dict(type='Compose', transforms=[
             dict(type='Resize', scale_factor=f, keep_ratio=True),
             dict(type='MarkValidRange', valid_range=rng, reference='resized', keep_empty=True),
         ]) for f, rng in isn_view_ranges]] + _base_.pyramid_tta_pipeline[1].transforms[1:]),
]
