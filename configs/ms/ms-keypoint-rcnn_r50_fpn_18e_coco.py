# MS (multi-scale training and testing) Keypoint R-CNN R50-FPN on COCO person keypoints: the
# comparator of the ISN keypoint config (ISN Table 9's "MS Train&MS Test"): the ISN pyramid, chips
# and 18-epoch schedule without the valid range (configs/_base_/scale_norm/ms.py), keypoints
# loaded, scaled and cropped with the chips (configs/_base_/scale_norm/ms_keypoints.py). The model is
# configs/isn/isn-keypoint-rcnn_r50_fpn_18e_coco.py's (Mask R-CNN's keypoint head; the paper's MS
# row uses ISN's light head). `--tta`: the 5 scales with soft-NMS, no range.
_base_ = [
    '../_base_/models/keypoint-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_keypoint_chips.py',
    '../_base_/schedules/isn_18e.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/scale_norm/ms_keypoints.py',
]
custom_imports = dict(imports=['mmdet_scalenorm'], allow_failed_imports=False)

train_dataloader = dict(dataset={{_base_.ms_keypoint_chip_dataset}})
