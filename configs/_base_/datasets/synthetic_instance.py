# Synthetic extreme-scale benchmark (issue 5), boxes + exact instance masks (COCO RLE).
# Generate it with:  python tools/misc/make_synthetic_dataset.py data/synthetic --preset demo
# The scale-normalization pipelines (SNIP / ISN pyramids, MarkValidRange, SampleChip) are set by
# the method configs; this file keeps mmdet's single-scale pipeline at a modest size.
dataset_type = 'CocoDataset'
data_root = 'data/synthetic/'
# Literal copy of mmdet_scalenorm.datasets.synthetic.SYNTHETIC_METAINFO (configs cannot import
# the package; tests/test_configs/test_synthetic_configs.py checks they agree).
metainfo = dict(
    classes=('disc', 'rectangle', 'triangle', 'star', 'figure'),
    palette=[(220, 20, 60), (119, 172, 48), (0, 114, 189), (237, 177, 32), (126, 47, 142)])
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(640, 640), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(640, 640), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
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
    metric=['bbox', 'segm'],
    format_only=False,
    backend_args=backend_args)
test_evaluator = val_evaluator
