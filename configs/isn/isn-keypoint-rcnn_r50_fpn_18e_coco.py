# ISN training of Keypoint R-CNN R50-FPN on COCO person keypoints (ISN §4.3.2, Table 9): the ISN
# recipe of configs/_base_/scale_norm/isn.py (SNIPER epochs of 576-px chips at {4, 2, 1, 0.5,
# 0.25}, range [16, 560] in resized pixels, invalid GT ignored, range-aware R-CNN sampling,
# soft-NMS after the head) with keypoints loaded, scaled and cropped with the chips
# (configs/_base_/scale_norm/isn_keypoints.py); the keypoint branch trains on the RoIs the range-aware
# sampler keeps. Mask R-CNN's keypoint head (configs/_base_/models/keypoint-rcnn_r50_fpn.py); the
# paper's head is ./isn-keypoint-rcnn-light_r50_fpn_18e_coco.py. Test: single scale, or `--tta`
# for the 5-scale ISN inference (each surviving box keeps its own view's keypoints).
_base_ = [
    '../_base_/models/keypoint-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_keypoint_chips.py',
    '../_base_/schedules/isn_18e.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/scale_norm/isn_keypoints.py',
]
custom_imports = dict(imports=['mmdet_scalenorm'], allow_failed_imports=False)

model = {{_base_.isn_keypoint_model}}
train_dataloader = dict(dataset={{_base_.isn_keypoint_chip_dataset}})
