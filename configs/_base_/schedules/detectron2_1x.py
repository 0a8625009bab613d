# Detectron2's "1x" schedule (the keypoint_rcnn_R_50_FPN_1x baseline): 90k iterations of batch 16
# (8 GPUs x 2 images), SGD lr 0.02, momentum 0.9, weight decay 1e-4, divided by 10 at 60k and
# 80k, linear warm-up over the first 1000 iterations from 0.001 x lr. (mmdet's 1x is 12 epochs;
# on the ~57k COCO images with person keypoints 90k x 16 images are ~25 epochs.) With mmdet's
# runtime: iteration-based logs and checkpoints.
_base_ = ['mmdet::_base_/default_runtime.py']

train_cfg = dict(type='IterBasedTrainLoop', max_iters=90000, val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=90000, by_epoch=False, milestones=[60000, 80000],
         gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001))
# Linear scaling rule; enable with `--auto-scale-lr` for other batch sizes.
auto_scale_lr = dict(enable=False, base_batch_size=16)

default_hooks = dict(checkpoint=dict(by_epoch=False, interval=10000))
log_processor = dict(by_epoch=False)
