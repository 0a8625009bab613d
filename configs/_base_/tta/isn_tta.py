# ISN multi-scale inference (ISN §3.3.1, §4.1): run the image at the 5 factors
# {4, 2, 1, 0.5, 0.25}, keep per view only the detections whose scale sqrt(w*h) *in that view's
# resized pixels* lies in the ISN range [16, 560], merge all views with soft-NMS (ISN §4.1),
# keep 100 per image.
# Used by `tools/test.py CONFIG CKPT --tta` (tta_model wraps the config's model, tta_pipeline
# replaces the test pipeline).  Views are scale-major: for flip TTA replace the one-element flip
# list with [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)].
tta_model = dict(
    type='ScaleNormTTAModel',
    valid_range=(16, 560),
    tta_cfg=dict(
        nms=dict(type='soft_nms', method='linear', iou_threshold=0.3, sigma=0.5,
                 min_score=1e-3),
        max_per_img=100))

tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale_factor=f, keep_ratio=True)
             for f in (4.0, 2.0, 1.0, 0.5, 0.25)],
            [dict(type='RandomFlip', prob=0.)],
            [dict(type='LoadAnnotations', with_bbox=True)],
            [dict(
                type='PackDetInputs',
                meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
                           'flip', 'flip_direction'))],
        ])
]
