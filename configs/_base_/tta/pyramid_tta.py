# The pyramid test of every scale-normalization method (SNIP §6.1, ISN §3.3.1 and §4.1), stated
# once: ScaleNormTTAModel runs the image at every view, keeps per view only the detections whose
# scale sqrt(w*h) lies in that view's range, merges all views with soft-NMS and keeps 100 per
# image. The method base specialises it with its views and ranges: ../scale_norm/isn.py (5
# factors, one range in resized pixels) and ../scale_norm/snip.py (3 scales, a range per view in
# original pixels); ./isn_tta_coarse64.py is ISN's with per-view ranges.
# Used by `tools/test.py CONFIG CKPT --tta` (tta_model wraps the config's model, tta_pipeline
# replaces the test pipeline). Views are scale-major: for flip TTA replace the one-element flip
# list with [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)].
tta_model = dict(
    type='ScaleNormTTAModel',
    tta_cfg=dict(
        nms=dict(type='soft_nms', method='linear', iou_threshold=0.3, sigma=0.5,
                 min_score=1e-3),
        max_per_img=100))

# The views (first list: one Resize per view, replaced by the method's TTA base) and what every
# view runs after them: no flip, the GT for evaluation, PackScaleNormInputs (its meta keys carry
# a view's own range when it has one, and the dataset's keypoint flip_indices).
pyramid_tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale_factor=1.0, keep_ratio=True)],
            [dict(type='RandomFlip', prob=0.)],
            [dict(type='LoadAnnotations', with_bbox=True)],
            [dict(type='PackScaleNormInputs')],
        ])
]
