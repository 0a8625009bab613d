# SNIP multi-scale inference (SNIP §6.1, Fig. 6; scales and ranges SNIP §7.1): run the image at
# 1400x2000, 800x1200 and 480x800 (short x long side), keep per view only the detections whose
# scale sqrt(w*h) *in original-image pixels* lies in that scale's range, merge with soft-NMS.
# scale_ranges[i] belongs to the i-th Resize below: ScaleNormTTAModel maps views to ranges by their
# order (scale-major), so keep the two lists in the same order.  For flip TTA replace the
# one-element flip list with [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)].
tta_model = dict(
    type='ScaleNormTTAModel',
    scale_ranges=[(0, 80), (40, 160), (120, 'inf')],
    tta_cfg=dict(
        nms=dict(type='soft_nms', method='linear', iou_threshold=0.3, sigma=0.5,
                 min_score=1e-3),
        max_per_img=100))

tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(type='Resize', scale=(2000, 1400), keep_ratio=True),
                dict(type='Resize', scale=(1200, 800), keep_ratio=True),
                dict(type='Resize', scale=(800, 480), keep_ratio=True),
            ],
            [dict(type='RandomFlip', prob=0.)],
            [dict(type='LoadAnnotations', with_bbox=True)],
            [dict(
                type='PackDetInputs',
                meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
                           'flip', 'flip_direction'))],
        ])
]
