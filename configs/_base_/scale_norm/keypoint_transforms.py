# The keypoint-aware versions of a chip pipeline's transforms, stated once for
# ./isn_keypoints.py and ./ms_keypoints.py: LoadAnnotationsWithKeypoints loads the (K, 3)
# keypoints with the boxes, KeypointRandomFlip flips them with the dataset's left/right swap
# (ResizeToChipScale scales them and SampleChip crops them with the chip: outside -> not
# labelled, as they are).
keypoint_transform_types = dict(LoadAnnotations='LoadAnnotationsWithKeypoints',
                                RandomFlip='KeypointRandomFlip')
