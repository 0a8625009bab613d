# MS (multi-scale training and testing) Mask R-CNN R50-FPN on COCO: the comparator of the ISN Mask
# R-CNN config (ISN Table 8's "MS train & test": 41.0 box / 37.6 mask AP): the ISN pyramid, chips
# and schedule without the valid range (configs/_base_/scale_norm/ms.py), masks loaded and cropped
# with the chips. `--tta`: the 5 scales with soft-NMS, no range.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_instance_chips.py',
    '../_base_/schedules/isn_18e.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/scale_norm/ms.py',
]
custom_imports = dict(imports=['mmdet_scalenorm'], allow_failed_imports=False)

train_dataloader = dict(dataset={{_base_.ms_instance_chip_dataset}})
