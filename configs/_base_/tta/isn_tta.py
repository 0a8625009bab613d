# ISN multi-scale inference (ISN §3.3.1, §4.1): ./pyramid_tta.py at the 5 factors
# {4, 2, 1, 0.5, 0.25}, keeping per view only the detections whose scale sqrt(w*h) *in that
# view's resized pixels* lies in the ISN range [16, 560] (../scale_norm/isn.py states the method;
# mmengine's sibling-base rule keeps these two numbers literal here, and
# tests/test_configs check they equal isn.py's). Keypoint R-CNN uses it unchanged: each surviving
# box keeps its own view's keypoints, and a flipped view flips them back with the dataset's
# flip_indices (packed by PackScaleNormInputs).
_base_ = ['./pyramid_tta.py']

tta_model = dict(valid_range=(16, 560))
tta_pipeline = [
    _base_.pyramid_tta_pipeline[0],
    dict(_base_.pyramid_tta_pipeline[1],
         transforms=[[dict(type='Resize', scale_factor=f, keep_ratio=True)
                      for f in (4.0, 2.0, 1.0, 0.5, 0.25)]] +
         _base_.pyramid_tta_pipeline[1].transforms[1:]),
]
