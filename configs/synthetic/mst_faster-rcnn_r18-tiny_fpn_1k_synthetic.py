# MST (multi-scale training and testing, the "MST" of SNIP Table 1 / ISN Table 6) on the synthetic
# benchmark: the same pyramid {4, 2, 1, 0.5, 0.25}, the same 512-px chips and the same multi-scale
# soft-NMS inference as the ISN config, but with NO valid range: every object is trained at every
# scale, every detection of every scale is merged. The difference to the ISN config is exactly the
# scale normalization.
_base_ = ['./faster-rcnn_r18-tiny_fpn_1k_synthetic.py', '../_base_/tta/isn_tta.py']

pyramid_factors = (4.0, 2.0, 1.0, 0.5, 0.25)
chip_size = 512

train_pipeline = [
    dict(type='LoadImageFromFileOrSkip'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='RandomChoice',
        transforms=[[dict(type='Resize', scale_factor=f, keep_ratio=True)]
                    for f in pyramid_factors]),
    dict(type='SampleChip', chip_size=chip_size),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                   'flip_direction', 'chip', 'chip_type')),
]
train_dataloader = dict(batch_sampler=None, dataset=dict(pipeline=train_pipeline))

# multi-scale inference without the range filter
tta_model = dict(valid_range=(0, 'inf'))  # 'inf': mmengine cannot dump float('inf')
