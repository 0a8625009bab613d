# COCO person keypoints (train2017 / val2017 of person_keypoints_*.json) for Keypoint R-CNN, with
# Detectron2's keypoint input (Base-Keypoint-RCNN-FPN): multi-scale training with the short side
# drawn from 640..800 (long side <= 1333), test at 800. CocoKeypointDataset loads one class,
# 'person', with its 17 keypoints; training drops images without any labelled keypoint
# (filter_empty_gt also filters keypoint-less images, Detectron2's MIN_KEYPOINTS_PER_IMAGE=1).
# Evaluated on boxes and keypoints (OKS AP with COCO's person sigmas), also within the ISN range.
_base_ = ['mmdet::_base_/datasets/coco_detection.py']

dataset_type = 'CocoKeypointDataset'
data_root = 'data/coco/'
metainfo = dict(classes=('person', ), palette=[(220, 20, 60)])

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotationsWithKeypoints', with_bbox=True),
    dict(
        type='RandomChoiceResize',
        scales=[(1333, 640), (1333, 672), (1333, 704), (1333, 736), (1333, 768), (1333, 800)],
        keep_ratio=True,
        resize_type='KeypointResize'),
    dict(type='KeypointRandomFlip', prob=0.5),
    dict(type='PackScaleNormInputs'),  # packs gt_keypoints (PackDetInputs drops them)
]
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/person_keypoints_train2017.json',
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/person_keypoints_val2017.json'))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='CocoKeypointMetric',
    ann_file=data_root + 'annotations/person_keypoints_val2017.json',
    metric=['bbox', 'keypoints'],
    scale_ranges=[(16, 560)])
test_evaluator = val_evaluator
