# SNIP multi-scale inference (SNIP §6.1, Fig. 6; scales and ranges SNIP §7.1, stated in
# ../scale_norm/snip.py): run the image at 1400x2000, 800x1200 and 480x800 (short x long side), keep
# per view only the detections whose scale sqrt(w*h) *in original-image pixels* lies in that
# scale's range, merge with soft-NMS. Each view carries its own range in its metainfo
# (PackScaleNormInputs keeps it) and ScaleNormTTAModel filters every view by its own range,
# whatever the order of the views. For flip TTA replace the one-element flip list with
# [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)].
_base_ = ['../scale_norm/snip.py']

tta_model = dict(
    type='ScaleNormTTAModel',
    tta_cfg=dict(
        nms=dict(type='soft_nms', method='linear', iou_threshold=0.3, sigma=0.5,
                 min_score=1e-3),
        max_per_img=100))

tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            {{_base_.snip_tta_views}},
            [dict(type='RandomFlip', prob=0.)],
            [dict(type='LoadAnnotations', with_bbox=True)],
            [dict(type='PackScaleNormInputs')],
        ])
]
