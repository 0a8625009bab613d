# Synthetic extreme-scale benchmark with the 'figure' keypoints (Keypoint R-CNN): the images and
# boxes of ./synthetic_detection.py read by CocoKeypointDataset (the annotation files already hold
# the figures' 13 keypoints), keypoints loaded, resized and flipped with the left/right swap in
# training, boxes (all 5 classes) and figure keypoints (OKS AP) evaluated, also within the ISN
# range [16, 560] by the box scale sqrt(w*h).
_base_ = './synthetic_detection.py'

dataset_type = 'CocoKeypointDataset'
# mmdet_scalenorm.datasets.coco_keypoint.SYNTHETIC_KEYPOINT_METAINFO: ./synthetic_detection.py's
# classes and palette plus a literal copy of the figure's keypoint names, 0-based skeleton, flip
# swap and OKS sigmas (FIGURE_SIGMAS: each part takes the COCO sigma of its closest person part);
# configs cannot import the package, tests/test_configs/test_keypoint_configs.py checks they agree.
metainfo = dict(
    _base_.metainfo,
    keypoint_names=('head', 'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow',
                    'left_hand', 'right_hand', 'left_hip', 'right_hip', 'left_knee',
                    'right_knee', 'left_foot', 'right_foot'),
    skeleton=[[0, 1], [0, 2], [1, 2], [1, 3], [3, 5], [2, 4], [4, 6], [1, 7], [2, 8], [7, 8],
              [7, 9], [9, 11], [8, 10], [10, 12]],
    flip_indices=[0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11],
    sigmas=(.026, .079, .079, .072, .072, .062, .062, .107, .107, .087, .087, .089, .089))

train_pipeline = [
    dict(type='LoadImageFromFileOrSkip', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotationsWithKeypoints', with_bbox=True),
    dict(type='KeypointResize', scale_factor=1.0, keep_ratio=True),
    dict(type='KeypointRandomFlip', prob=0.5),
    dict(type='PackScaleNormInputs'),  # packs gt_keypoints (PackDetInputs drops them)
]
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        metainfo=metainfo,
        # images without a figure stay (their boxes train as in the detection configs)
        filter_cfg=dict(filter_empty_keypoints=False),
        pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type=dataset_type, metainfo=metainfo))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='CocoKeypointMetric', metric=['bbox', 'keypoints'], scale_ranges=[(16, 560)])
test_evaluator = val_evaluator
