# ISN training schedule (ISN §4.1): 18 epochs of synchronized SGD, lr = 0.00125 * batch size
# (0.02 for 8 GPUs x 2 images), divided by 10 twice, linear warm-up over the whole 1st epoch.
#
# The paper says the lr "will be divided by 10 at 15-th and 18-th epoch successively". Read with
# mmdet's milestone convention (1x: milestones [8, 11] of 12 epochs), a milestone of 18 would
# never fire in an 18-epoch run, so the decays are placed after epoch 15 and after epoch 17:
# epochs 1-15 at 0.02, 16-17 at 0.002, the 18th at 0.0002.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=18, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    # warm-up for the 1st epoch (ISN §4.1, [9] = Goyal et al.), stepped per iteration
    dict(
        type='LinearLR',
        start_factor=0.001,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='MultiStepLR',
        begin=0,
        end=18,
        by_epoch=True,
        milestones=[15, 17],
        gamma=0.1)
]

# lr 0.00125 * 16 = 0.02 (ISN §4.1 linear scaling rule)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001))

# Linear scaling rule of ISN §4.1; enable with `--auto-scale-lr` for other batch sizes.
#   `base_batch_size` = (8 GPUs) x (2 samples per GPU).
auto_scale_lr = dict(enable=False, base_batch_size=16)
