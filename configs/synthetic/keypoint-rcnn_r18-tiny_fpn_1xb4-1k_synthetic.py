# Baseline: single-scale Keypoint R-CNN (R18-tiny FPN, Mask R-CNN's keypoint head) trained from
# scratch on the synthetic benchmark's boxes (all 5 classes) and 'figure' keypoints, 1k iterations
# of batch 4 (the schedule and batch of the detection configs of this folder; images without a
# figure train their boxes too).
_base_ = [
    '../_base_/models/keypoint-rcnn_r18-tiny_fpn.py',
    '../_base_/datasets/synthetic_keypoint.py',
    '../_base_/schedules/synthetic_1k.py',
]
custom_imports = dict(imports=['mmdet_scalenorm'], allow_failed_imports=False)

train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    sampler=dict(type='InfiniteSampler', shuffle=True))
