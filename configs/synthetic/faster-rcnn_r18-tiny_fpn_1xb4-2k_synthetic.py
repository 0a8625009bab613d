# The single-scale baseline at 2k iterations of batch 4 (8000 images): the 1k config with its
# schedule stretched to the same shape (warm-up and LR steps at the same fractions of training),
# the equal-sample competitor of isn-faster-rcnn_r18-tiny_fpn_1xb4-2k_synthetic.py.
_base_ = './faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py'

train_cfg = dict(max_iters=2000, val_interval=2000)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=200),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=2000, milestones=[1600, 1850],
         gamma=0.1)
]
default_hooks = dict(checkpoint=dict(interval=2000))
