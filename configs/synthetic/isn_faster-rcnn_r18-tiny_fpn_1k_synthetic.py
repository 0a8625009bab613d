# ISN on the synthetic extreme-scale benchmark (the `make demo` model): the baseline config of this
# folder with ISN's training (ISN §3.3.1, §4.1) and multi-scale inference (configs/_base_/tta):
# factors {4, 2, 1, 0.5, 0.25}, ISN range [16, 560] in resized pixels, 512-px SNIPER chips, anchors
# with IoU > 0.3 to invalid GT ignored, R-CNN sampling restricted to the range. Same model, budget
# and optimizer as the baseline and MST configs.
_base_ = ['./faster-rcnn_r18-tiny_fpn_1k_synthetic.py', '../_base_/tta/isn_tta.py']

isn_factors = (4.0, 2.0, 1.0, 0.5, 0.25)
isn_range = (16, 560)
chip_size = 512

model = dict(
    roi_head=dict(type='ScaleNormRoIHead'),
    train_cfg=dict(
        rpn=dict(assigner=dict(type='ScaleAwareMaxIoUAssigner', invalid_iou_thr=0.3)),
        rcnn=dict(
            assigner=dict(type='ScaleAwareMaxIoUAssigner', invalid_iou_thr=0.3),
            sampler=dict(type='ValidRangeSampler', valid_range=isn_range))))

train_pipeline = [
    dict(type='LoadImageFromFileOrSkip'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='RandomChoice',
        transforms=[[dict(type='Resize', scale_factor=f, keep_ratio=True)] for f in isn_factors]),
    dict(type='MarkValidRange', valid_range=isn_range, reference='resized'),
    dict(type='SampleChip', chip_size=chip_size),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                   'flip_direction', 'valid_range', 'valid_range_info', 'chip', 'chip_type')),
]
train_dataloader = dict(
    batch_sampler=None,  # chips are square: no aspect-ratio grouping
    dataset=dict(pipeline=train_pipeline))
