# MST (multi-scale training and testing, the "MST" of SNIP Table 1 / ISN Table 6) on the synthetic
# benchmark: the same pyramid {4, 2, 1, 0.5, 0.25}, the same SNIPER epochs of 576-px chips and the
# same 5-scale soft-NMS inference as the ISN config, but with NO valid range: every object is
# trained at every scale (chips cover every object that fits one), every detection of every scale
# is merged. The difference to the ISN config is exactly the scale normalization.
_base_ = [
    './faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py',
    '../_base_/tta/isn_tta.py',
    '../_base_/scale_norm/isn.py',
]

mst_pipeline = [
    dict(type='LoadImageFromFileOrSkip'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='ResizeToChipScale'),
    dict(type='SampleChip', chip_size={{_base_.chip_size}}, stride={{_base_.chip_stride}}),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackScaleNormInputs'),
]
train_dataloader = dict(
    batch_sampler=None,
    sampler=dict(_delete_=True, type='ChipInfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='ChipDataset',
        dataset=dict(
            type='CocoDataset',
            data_root={{_base_.data_root}},
            metainfo={{_base_.metainfo}},
            ann_file='annotations/instances_train.json',
            data_prefix=dict(img='train/'),
            filter_cfg=dict(filter_empty_gt=True, min_size=32),
            pipeline=[]),
        scale_factors={{_base_.isn_factors}},
        valid_range=(0, 'inf'),  # no scale normalization: every object is valid
        reference='resized',
        chip_size={{_base_.chip_size}},
        stride={{_base_.chip_stride}},
        pipeline=mst_pipeline))

# multi-scale inference without the range filter
tta_model = dict(valid_range=(0, 'inf'))  # 'inf': mmengine cannot dump float('inf')
