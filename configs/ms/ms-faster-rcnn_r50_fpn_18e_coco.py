# MS (multi-scale training and testing) Faster R-CNN R50-FPN on COCO: the comparator of the ISN
# config (ISN Table 6's "MST"): ISN's SNIPER epochs of 576-px chips at {4, 2, 1, 0.5, 0.25} and its
# 18-epoch schedule, but every object trained at every scale and every detection of every scale
# merged (configs/_base_/scale_norm/ms.py). `--tta`: the 5 scales with soft-NMS, no range.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_detection_chips.py',
    '../_base_/schedules/isn_18e.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/scale_norm/ms.py',
]
custom_imports = dict(imports=['mmdet_scalenorm'], allow_failed_imports=False)

train_dataloader = dict(dataset={{_base_.ms_chip_dataset}})
