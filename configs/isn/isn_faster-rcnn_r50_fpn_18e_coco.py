# ISN (Instance Scale Normalization) training of Faster R-CNN R50-FPN on COCO (ISN §3.3, §4.1).
#
# Pipeline (ISN §3.3.1, §4.1): resize the image by one factor of {4, 2, 1, 0.5, 0.25} drawn at
# random, mark GT whose scale sqrt(w*h) in the resized image is outside the ISN range [16, 560] as
# ignored (MarkValidRange), crop one 512x512 SNIPER chip (SampleChip), flip.
# Training rule (SNIP §6.1): anchors/proposals with IoU > 0.3 to an ignored GT are ignored
# (ScaleAwareMaxIoUAssigner, RPN and R-CNN); R-CNN never samples proposals outside the range
# (ValidRangeSampler through ScaleNormRoIHead).
# Test: mmdet's single-scale pipeline; the multi-scale ISN inference (range filtering + soft-NMS
# over the 5 scales) is the TTA config configs/_base_/tta/isn_tta.py.
#
# This is faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py with its 1x schedule swapped for ISN's 18e:
# mmengine forbids the same key in two bases, so the 1x config's own four bases are listed here
# instead of the 1x config itself (which would clash with isn_18e.py on train_cfg/param_scheduler).
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_detection.py',
    '../_base_/schedules/isn_18e.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/tta/isn_tta.py',
]
custom_imports = dict(imports=['mmdet_scalenorm'], allow_failed_imports=False)

isn_factors = (4.0, 2.0, 1.0, 0.5, 0.25)  # Omega, ISN §4.1
isn_range = (16, 560)  # ISN range [s_l, s_u], ISN §4.1 / §4.2.1
chip_size = 512

model = dict(
    roi_head=dict(type='ScaleNormRoIHead'),
    train_cfg=dict(
        rpn=dict(
            assigner=dict(type='ScaleAwareMaxIoUAssigner', invalid_iou_thr=0.3)),
        rcnn=dict(
            assigner=dict(type='ScaleAwareMaxIoUAssigner', invalid_iou_thr=0.3),
            sampler=dict(type='ValidRangeSampler', valid_range=isn_range))))

train_pipeline = [
    dict(type='LoadImageFromFileOrSkip', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='RandomChoice',
        transforms=[[dict(type='Resize', scale_factor=f, keep_ratio=True)]
                    for f in isn_factors]),
    dict(type='MarkValidRange', valid_range=isn_range, reference='resized'),
    dict(type='SampleChip', chip_size=chip_size),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                   'flip_direction', 'valid_range', 'valid_range_info', 'chip', 'chip_type')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
