# ISN on the synthetic benchmark at 2k iterations of batch 4 (8000 chips, about two SNIPER epochs
# of this data): the 1k config with the 2k schedule. At 1k iterations ISN sees under one SNIPER
# epoch and is budget-starved; this is the budget of the published synthetic ISN model.
_base_ = [
    './isn-faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py',
    '../_base_/schedules/synthetic_2k.py',
]
train_cfg = {{_base_.train_cfg_2k}}
param_scheduler = {{_base_.param_scheduler_2k}}
default_hooks = {{_base_.default_hooks_2k}}
