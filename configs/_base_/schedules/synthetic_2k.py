# The synthetic schedule (synthetic_1k.py) stretched to 2k iterations with the same shape: warm-up
# and LR steps at the same fractions of training, what `compare_methods.py --iters 2000` trains
# (`set_iterations`). A 1k leaf config becomes its 2k version with
#     _base_ = ['./X-1k_synthetic.py', '../_base_/schedules/synthetic_2k.py']
#     train_cfg = {{_base_.train_cfg_2k}}
#     param_scheduler = {{_base_.param_scheduler_2k}}
#     default_hooks = {{_base_.default_hooks_2k}}
# (mmengine refuses a key defined by two bases, hence the names of their own).
train_cfg_2k = dict(max_iters=2000, val_interval=2000)
param_scheduler_2k = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=200),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=2000, milestones=[1600, 1850],
         gamma=0.1)
]
default_hooks_2k = dict(checkpoint=dict(interval=2000))
