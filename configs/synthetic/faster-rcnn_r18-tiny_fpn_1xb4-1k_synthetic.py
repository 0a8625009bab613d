# Baseline: single-scale Faster R-CNN (R18-tiny FPN) trained from scratch on the synthetic
# extreme-scale benchmark, 1k iterations of batch 4. The MS and ISN configs of this folder share
# its model, schedule and batch and change only the training data (chips of the pyramid) and the
# scale-normalization parts, so the three compare at the same number of training samples.
_base_ = [
    '../_base_/models/faster-rcnn_r18-tiny_fpn.py',
    '../_base_/datasets/synthetic_detection.py',
    '../_base_/schedules/synthetic_1k.py',
]
custom_imports = dict(imports=['mmdet_scalenorm'], allow_failed_imports=False)

train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    sampler=dict(type='InfiniteSampler', shuffle=True))
