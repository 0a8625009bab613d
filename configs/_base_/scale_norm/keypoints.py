# ISN and MS for Keypoint R-CNN (ISN §4.3.2: "patches used in ISN training here are generated
# from COCO keypoint data, which includes bounding-box and keypoint information"), stated once:
# the recipes of ./isn.py and ./ms.py (inherited, unchanged) with keypoints in their chip
# pipelines: LoadAnnotationsWithKeypoints loads them, ResizeToChipScale scales them, SampleChip
# crops them with the chip (outside -> not labelled), KeypointRandomFlip flips them with the
# left/right swap. Variables only, placed by a leaf beside its Keypoint R-CNN model and
# ../datasets/*keypoint_chips.py dataset bases:
#   model = {{_base_.isn_keypoint_model}}      (ISN; an MS leaf keeps its model)
#   train_dataloader = dict(dataset={{_base_.isn_keypoint_chip_dataset}})  (or ms_...)
_base_ = ['./ms.py']


def _with_keypoints(pipeline):
    """The chip pipeline with the keypoint-aware loading and flip (a config-time helper)."""
    keypoint_types = dict(LoadAnnotations='LoadAnnotationsWithKeypoints',
                          RandomFlip='KeypointRandomFlip')
    return [dict(t, type=keypoint_types.get(t['type'], t['type'])) for t in pipeline]


# ISN's model parts (./isn.py) on the keypoint R-CNN head: KeypointRoIHead is ScaleNormRoIHead
# (range-aware R-CNN sampling) plus the keypoint branch, trained on the RoIs that sampler keeps.
isn_keypoint_model = dict(_base_.isn_model, roi_head=dict(type='KeypointRoIHead'))
isn_keypoint_chip_pipeline = _with_keypoints(_base_.isn_chip_pipeline)
isn_keypoint_chip_dataset = dict(_base_.isn_chip_dataset, pipeline=isn_keypoint_chip_pipeline)
ms_keypoint_chip_pipeline = _with_keypoints(_base_.ms_chip_pipeline)
ms_keypoint_chip_dataset = dict(_base_.ms_chip_dataset, pipeline=ms_keypoint_chip_pipeline)
