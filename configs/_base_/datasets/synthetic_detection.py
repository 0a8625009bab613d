# Synthetic extreme-scale benchmark, boxes only.
# Generate it with:  python tools/misc/make_synthetic_dataset.py data/synthetic --preset demo
# The scale-normalization pipelines (SNIP / ISN pyramids, MarkValidRange, SampleChip) are set by
# the method configs (../datasets/synthetic_detection_chips.py wraps the training set in chips).
dataset_type = 'CocoDataset'
data_root = 'data/synthetic/'
# Literal copy of mmdet_scalenorm.datasets.synthetic.SYNTHETIC_METAINFO (configs cannot import
# the package; tests/test_configs/test_synthetic_configs.py checks they agree).
metainfo = dict(
    classes=('disc', 'rectangle', 'triangle', 'star', 'figure'),
    palette=[(220, 20, 60), (119, 172, 48), (0, 114, 189), (237, 177, 32), (126, 47, 142)])
backend_args = None

# Single scale = the raw image (factor 1, as ISN Table 7's omega = 1.0): the benchmark's images
# are already at the size its objects are drawn for.
train_pipeline = [
    dict(type='LoadImageFromFileOrSkip', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale_factor=1.0, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale_factor=1.0, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/instances_val.json',
    metric='bbox',
    format_only=False,
    backend_args=backend_args)
test_evaluator = val_evaluator
