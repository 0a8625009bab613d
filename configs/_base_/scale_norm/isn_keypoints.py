# ISN for Keypoint R-CNN (ISN §4.3.2: "patches used in ISN training here are generated from COCO
# keypoint data, which includes bounding-box and keypoint information"), stated once: the recipe
# of ./isn.py (inherited, unchanged: its valid range, chips and 5-scale ISN test) with keypoints
# in its chip pipeline (./keypoint_transforms.py). Variables placed by a leaf beside its Keypoint
# R-CNN model and ../datasets/*keypoint_chips.py dataset bases:
#   model = {{_base_.isn_keypoint_model}}
#   train_dataloader = dict(dataset={{_base_.isn_keypoint_chip_dataset}})
_base_ = ['./isn.py', './keypoint_transforms.py']

# ISN's model parts (./isn.py) on the keypoint R-CNN head: KeypointRoIHead is ScaleNormRoIHead
# (range-aware R-CNN sampling) plus the keypoint branch, trained on the RoIs that sampler keeps.
isn_keypoint_model = dict(_base_.isn_model, roi_head=dict(type='KeypointRoIHead'))
isn_keypoint_chip_pipeline = [
    dict(t, type=_base_.keypoint_transform_types.get(t['type'], t['type']))
    for t in _base_.isn_chip_pipeline
]
isn_keypoint_chip_dataset = dict(_base_.isn_chip_dataset, pipeline=isn_keypoint_chip_pipeline)
