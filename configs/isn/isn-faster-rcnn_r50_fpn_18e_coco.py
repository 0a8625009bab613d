# ISN (Instance Scale Normalization) training of Faster R-CNN R50-FPN on COCO (ISN §3.3, §4.1),
# with the method stated once in configs/_base_/scale_norm/isn.py: SNIPER epochs over every
# (image, scale, 576-px chip) at the factors {4, 2, 1, 0.5, 0.25} (ChipDataset, see
# configs/_base_/datasets/coco_detection_chips.py), the ISN range [16, 560] in resized pixels,
# invalid GT ignored by the RPN and R-CNN assigners (IoU > 0.3, and small invalid GT inside small
# priors), R-CNN sampling restricted to the range, soft-NMS after the head. Test: mmdet's
# single-scale pipeline; `--tta` runs the multi-scale ISN inference (range filter + soft-NMS over
# the 5 scales, set by configs/_base_/scale_norm/isn.py).
#
# This is faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py with its 1x schedule swapped for ISN's 18e:
# mmengine forbids the same key in two bases, so the 1x config's own bases are listed here
# instead of the 1x config itself (which would clash with isn_18e.py on train_cfg/param_scheduler).
# SNIPER negative chips: train briefly, run tools/misc/dump_proposals.py, then
# `--cfg-options train_dataloader.dataset.neg_proposals_file=PROPOSALS.pkl`.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_detection_chips.py',
    '../_base_/schedules/isn_18e.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/scale_norm/isn.py',
]
custom_imports = dict(imports=['mmdet_scalenorm'], allow_failed_imports=False)

model = {{_base_.isn_model}}
train_dataloader = dict(dataset={{_base_.isn_chip_dataset}})
