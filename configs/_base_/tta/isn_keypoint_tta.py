# ISN multi-scale inference for Keypoint R-CNN: ./isn_tta.py's views and merge (5 scales, range
# filter per view, soft-NMS; each surviving box keeps its own view's keypoints, already in
# original-image pixels), the views packed by PackScaleNormInputs, whose meta keys add the
# dataset's `flip_indices` (CocoKeypointDataset's left/right swap): a flipped view (replace the
# flip list as ./isn_tta.py says) flips its keypoints back with the dataset's own swap.
_base_ = ['./isn_tta.py']

tta_pipeline = [
    _base_.tta_pipeline[0],
    dict(_base_.tta_pipeline[1],
         transforms=_base_.tta_pipeline[1].transforms[:-1] + [[dict(type='PackScaleNormInputs')]]),
]
