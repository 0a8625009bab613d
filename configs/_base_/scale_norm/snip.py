# SNIP (Singh & Davis, CVPR 2018), stated once. Variables only (mmengine forbids one key in two
# sibling bases), apart from the test: a leaf config lists this base beside its mmdet
# model/dataset bases and places the pieces, e.g.
#   model = {{_base_.snip_model}}
#   train_dataloader = dict(dataset=dict(pipeline={{_base_.snip_train_pipeline}}))
# and `tools/test.py CONFIG CKPT --tta` runs SNIP's multi-scale inference set below.

_base_ = ['./invalid_gt.py', '../tta/pyramid_tta.py']

# The pyramid (SNIP §7.1): (mmdet Resize scale as (long, short), valid range in ORIGINAL-image
# pixels); 'inf' is dump-safe. Used for training and for inference (the end of this file).
snip_scales = [((2000, 1400), (0, 80)), ((1200, 800), (40, 160)), ((800, 480), (120, 'inf'))]
# High resolutions are cut into 1000x1000 chips (SNIP §6.2).
snip_chip_size = 1000

# RPN and R-CNN assigner: ./invalid_gt.py's rule.
snip_assigner = {{_base_.invalid_gt_assigner}}
# The model parts (merged into the leaf's mmdet model): the R-CNN sampler takes each image's range
# from MarkValidRange's `valid_range` metainfo (ScaleNormRoIHead; an image without one is an error).
snip_model = dict(
    roi_head=dict(type='ScaleNormRoIHead'),
    train_cfg=dict(
        rpn=dict(assigner=snip_assigner),
        rcnn=dict(assigner=snip_assigner, sampler=dict(type='ValidRangeSampler'))))

# Training: one scale drawn per sample, its original-pixel range marked (reference='original'),
# one chip. Unfinished: SNIP's scales are target sizes, which ChipDataset (constant factors) cannot
# enumerate yet, so SNIP draws its scale at random per sample instead of SNIPER epochs.
snip_train_pipeline = [
    dict(type='LoadImageFromFileOrSkip', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='RandomChoice',
        transforms=[[
            dict(type='Resize', scale=scale, keep_ratio=True),
            dict(type='MarkValidRange', valid_range=rng, reference='original'),
        ] for scale, rng in snip_scales]),
    dict(type='SampleChip', chip_size=snip_chip_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackScaleNormInputs'),  # keeps the per-image valid_range for the sampler
]
# The same loading instance masks (Mask R-CNN).
snip_instance_train_pipeline = [
    dict(t, with_mask=True) if t['type'] == 'LoadAnnotations' else t for t in snip_train_pipeline
]
# Inference views: each carries its own range, as in training (Compose([Resize, MarkValidRange])
# writes the scale's range, converted to the view's pixels, into the view's metainfo).
snip_tta_views = [
    dict(type='Compose', transforms=[
        dict(type='Resize', scale=scale, keep_ratio=True),
        dict(type='MarkValidRange', valid_range=rng, reference='original', keep_empty=True),
    ]) for scale, rng in snip_scales
]

# SNIP multi-scale inference (SNIP §6.1, Fig. 6): ../tta/pyramid_tta.py at the 3 scales, keeping
# per view only the detections whose scale sqrt(w*h) *in original-image pixels* lies in that
# scale's range. ScaleNormTTAModel filters every view by its own range (from its metainfo),
# whatever the order of the views.
tta_pipeline = [
    _base_.pyramid_tta_pipeline[0],
    dict(_base_.pyramid_tta_pipeline[1],
         transforms=[snip_tta_views] + _base_.pyramid_tta_pipeline[1].transforms[1:]),
]
