# ISN on the synthetic benchmark with SNIPER-style epochs: the ISN config of this folder, but the
# (scale, chip) of each sample is enumerated by ChipDataset (every positive chip of every image at
# every factor of {4, 2, 1, 0.5, 0.25}, cached on disk) instead of drawn at random by SampleChip,
# and ResizeToChipScale computes only the chip's pixels. ChipInfiniteSampler carries the epoch to
# the dataset (negative chips, when a proposals file is given, are re-drawn per epoch).
_base_ = ['./isn_faster-rcnn_r18-tiny_fpn_1k_synthetic.py']

train_pipeline = [
    dict(type='LoadImageFromFileOrSkip'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='ResizeToChipScale'),
    dict(type='MarkValidRange', valid_range={{_base_.isn_range}}, reference='resized'),
    dict(type='SampleChip', chip_size={{_base_.chip_size}}),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                   'flip_direction', 'valid_range', 'valid_range_info', 'chip', 'chip_type')),
]
train_dataloader = dict(
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
        valid_range={{_base_.isn_range}},
        reference='resized',
        chip_size={{_base_.chip_size}},
        pipeline=train_pipeline))
