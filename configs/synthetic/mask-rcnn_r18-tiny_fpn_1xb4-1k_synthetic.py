# Baseline: single-scale Mask R-CNN (R18-tiny FPN) trained from scratch on the synthetic
# benchmark's exact instance masks, 1k iterations of batch 4 (the schedule and batch of the
# detection configs of this folder).
_base_ = [
    '../_base_/models/mask-rcnn_r18-tiny_fpn.py',
    '../_base_/datasets/synthetic_instance.py',
    '../_base_/schedules/synthetic_1k.py',
]
custom_imports = dict(imports=['mmdet_scalenorm'], allow_failed_imports=False)

train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    sampler=dict(type='InfiniteSampler', shuffle=True))
