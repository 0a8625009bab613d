# ISN training of Mask R-CNN R50-FPN on COCO (ISN §4.3.1, Table 8: MS train & test 41.0 box /
# 37.6 mask AP -> ISN 43.0 / 39.0): the ISN recipe of configs/_base_/scale_norm/isn.py (SNIPER
# epochs of 576-px chips at {4, 2, 1, 0.5, 0.25}, range [16, 560] in resized pixels, invalid GT
# ignored, range-aware R-CNN sampling, soft-NMS after the head) with the chip pipeline that loads
# masks. The mask branch trains on the RoIs the range-aware sampler keeps. Test: single scale, or
# `--tta` for the 5-scale ISN inference (each surviving box keeps its own view's mask, pasted at
# the original image size).
#
# mmdet's mask-rcnn_r50_fpn_1x_coco.py with its 1x schedule swapped for ISN's 18e (its bases are
# listed instead of the 1x config, as in isn-faster-rcnn_r50_fpn_18e_coco.py).
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_instance_chips.py',
    '../_base_/schedules/isn_18e.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/scale_norm/isn.py',
]
custom_imports = dict(imports=['mmdet_scalenorm'], allow_failed_imports=False)

model = {{_base_.isn_model}}
train_dataloader = dict(dataset={{_base_.isn_instance_chip_dataset}})
