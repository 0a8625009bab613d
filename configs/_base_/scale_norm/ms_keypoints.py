# MS for Keypoint R-CNN, stated once: the recipe of ./ms.py (inherited, unchanged: ISN's pyramid
# and chips with no valid range, and its 5-scale test without the range) with keypoints in its
# chip pipeline (./keypoint_transforms.py). A leaf keeps its Keypoint R-CNN model and places:
#   train_dataloader = dict(dataset={{_base_.ms_keypoint_chip_dataset}})
_base_ = ['./ms.py', './keypoint_transforms.py']

ms_keypoint_chip_pipeline = [
    dict(t, type=_base_.keypoint_transform_types.get(t['type'], t['type']))
    for t in _base_.ms_chip_pipeline
]
ms_keypoint_chip_dataset = dict(_base_.ms_chip_dataset, pipeline=ms_keypoint_chip_pipeline)
