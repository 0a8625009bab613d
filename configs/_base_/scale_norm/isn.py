# ISN (Instance Scale Normalization, ISN §3.3 and §4.1), stated once. This base holds variables
# only (mmengine forbids one key in two sibling bases): a leaf config lists it beside its mmdet
# model and ChipDataset-wrapped dataset bases (../datasets/*_chips.py) and places the pieces:
#   model = {{_base_.isn_model}}
#   train_dataloader = dict(dataset={{_base_.isn_chip_dataset}})
# The training path is SNIPER's: ChipDataset enumerates every (image, scale, chip) of an epoch.
# The test is ISN's too (`tools/test.py CONFIG CKPT --tta`): this base sets `tta_model` and
# `tta_pipeline`, so a leaf needs no TTA base (./ms.py overrides its range).

_base_ = ['./invalid_gt.py', '../tta/pyramid_tta.py']

# Omega = {4, 2, 1, 0.5, 0.25} and the ISN range [16, 560] in RESIZED pixels (ISN §4.1, §4.2.1).
isn_factors = (4.0, 2.0, 1.0, 0.5, 0.25)
isn_range = (16, 560)
# "patch size 576 used in ISN training" (ISN §4.2.4): 576-px chips on a 32-px grid.
chip_size = 576
chip_stride = 32
# SNIPER negative chips: a proposals file written by tools/misc/dump_proposals.py from a short
# RPN training (None: positive chips only), and the negative chips drawn per image and epoch.
neg_proposals_file = None
neg_chips_per_image = 2

# Assigner of the RPN and the R-CNN head: ./invalid_gt.py's rule.
isn_assigner = {{_base_.invalid_gt_assigner}}
# ISN replaces the NMS after the detection head with soft-NMS (ISN §4.1), in every view.
isn_rcnn_nms = dict(
    type='soft_nms', iou_threshold=0.5, method='gaussian', sigma=0.5, min_score=1e-3)

# The model parts of ISN, placed by a leaf config as `model = {{_base_.isn_model}}` (merged into
# its mmdet Faster/Mask R-CNN model): range-aware R-CNN sampling, the assigner above in the RPN
# and the R-CNN head, soft-NMS after the head.
isn_model = dict(
    roi_head=dict(type='ScaleNormRoIHead'),
    train_cfg=dict(
        rpn=dict(assigner=isn_assigner),
        rcnn=dict(
            assigner=isn_assigner,
            sampler=dict(type='ValidRangeSampler', valid_range=isn_range))),
    test_cfg=dict(rcnn=dict(nms=isn_rcnn_nms)))

# The chip pipeline of ChipDataset: only the chip's pixels are resized (ResizeToChipScale),
# GT outside the range are marked invalid (kept as ignored), the enumerated chip is cropped.
isn_chip_pipeline = [
    dict(type='LoadImageFromFileOrSkip'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='ResizeToChipScale'),
    dict(type='MarkValidRange', valid_range=isn_range, reference='resized', keep_empty=True),
    dict(type='SampleChip', chip_size=chip_size, stride=chip_stride),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackScaleNormInputs'),  # keeps valid_range: ScaleNormRoIHead reads it
]
# The same chip pipeline loading instance masks (Mask R-CNN): SampleChip crops them with the chip.
isn_instance_chip_pipeline = [
    dict(t, with_mask=True) if t['type'] == 'LoadAnnotations' else t for t in isn_chip_pipeline
]

# ChipDataset's settings (merged into the ChipDataset of ../datasets/*_chips.py by the leaf:
# `train_dataloader = dict(dataset={{_base_.isn_chip_dataset}})`).
isn_chip_dataset = dict(
    scale_factors=isn_factors,
    valid_range=isn_range,
    reference='resized',
    chip_size=chip_size,
    stride=chip_stride,
    neg_proposals_file=neg_proposals_file,
    neg_chips_per_image=neg_chips_per_image,
    pipeline=isn_chip_pipeline)
isn_instance_chip_dataset = dict(isn_chip_dataset, pipeline=isn_instance_chip_pipeline)

# ISN multi-scale inference (ISN §3.3.1, §4.1): ../tta/pyramid_tta.py at the 5 factors, keeping
# per view only the detections whose scale sqrt(w*h) *in that view's resized pixels* lies in the
# ISN range. Keypoint R-CNN uses it unchanged: each surviving box keeps its own view's keypoints,
# and a flipped view flips them back with the dataset's flip_indices (packed by
# PackScaleNormInputs).
tta_model = dict(valid_range=isn_range)
isn_tta_views = [dict(type='Resize', scale_factor=f, keep_ratio=True) for f in isn_factors]
tta_pipeline = [
    _base_.pyramid_tta_pipeline[0],
    dict(_base_.pyramid_tta_pipeline[1],
         transforms=[isn_tta_views] + _base_.pyramid_tta_pipeline[1].transforms[1:]),
]
