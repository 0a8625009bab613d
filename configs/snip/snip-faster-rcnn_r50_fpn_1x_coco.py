# SNIP (Singh & Davis, CVPR 2018) training of Faster R-CNN R50-FPN on COCO, with mmdet's 1x
# schedule. Image pyramid of 3 scales, each with its own valid range in ORIGINAL-image pixels
# (SNIP §7.1): 1400x2000 -> (0, 80), 800x1200 -> (40, 160), 480x800 -> (120, inf). GT outside the
# range of the drawn scale is invalid (MarkValidRange, reference='original'): anchors/proposals
# with IoU > 0.3 to it are ignored (ScaleAwareMaxIoUAssigner, SNIP §6.1), priors of <= 64 px
# holding more than half of an invalid GT are never background, and RoIs outside the
# range are not sampled (ValidRangeSampler with the per-image range from ScaleNormRoIHead).
# High resolutions are cut into 1000x1000 chips (SNIP §6.2). Test: mmdet's single scale, or the
# SNIP multi-scale inference of configs/_base_/tta/snip_tta.py with `--tta`.
_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    '../_base_/tta/snip_tta.py',
]
custom_imports = dict(imports=['mmdet_scalenorm'], allow_failed_imports=False)

# (mmdet Resize scale as (long, short), valid range in original pixels); 'inf': dump-safe
snip_scales = [((2000, 1400), (0, 80)), ((1200, 800), (40, 160)), ((800, 480), (120, 'inf'))]
chip_size = 1000

# Unfinished: SNIP's scales are target sizes, which ChipDataset (constant factors) cannot enumerate
# yet, so this config draws its scale at random per sample (RandomChoice) instead of SNIPER epochs.
snip_assigner = dict(
    type='ScaleAwareMaxIoUAssigner',
    invalid_iou_thr=0.3,
    invalid_iof_thr=0.5,
    small_prior_max_scale=64)

model = dict(
    roi_head=dict(type='ScaleNormRoIHead'),
    train_cfg=dict(
        rpn=dict(assigner=snip_assigner),
        rcnn=dict(
            assigner=snip_assigner,
            # the range comes per image from MarkValidRange's `valid_range` meta key
            sampler=dict(type='ValidRangeSampler'))))

train_pipeline = [
    dict(type='LoadImageFromFileOrSkip', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='RandomChoice',
        transforms=[[
            dict(type='Resize', scale=scale, keep_ratio=True),
            dict(type='MarkValidRange', valid_range=rng, reference='original'),
        ] for scale, rng in snip_scales]),
    dict(type='SampleChip', chip_size=chip_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackScaleNormInputs'),  # keeps the per-image valid_range for the sampler
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
