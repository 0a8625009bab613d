# The single-scale baseline at 2k iterations of batch 4 (8000 images): the 1k config with the 2k
# schedule, the equal-sample competitor of isn-faster-rcnn_r18-tiny_fpn_1xb4-2k_synthetic.py.
_base_ = [
    './faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py',
    '../_base_/schedules/synthetic_2k.py',
]
train_cfg = {{_base_.train_cfg_2k}}
param_scheduler = {{_base_.param_scheduler_2k}}
default_hooks = {{_base_.default_hooks_2k}}
