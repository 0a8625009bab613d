# MS (multi-scale training and testing) on the synthetic extreme-scale benchmark: the baseline's
# model, schedule and batch trained on the same SNIPER epochs of 576-px chips at {4, 2, 1, 0.5,
# 0.25} as the ISN config and tested with the same 5 scales and soft-NMS, but with no valid range
# (configs/_base_/scale_norm/ms.py). The difference to the ISN config is exactly the scale
# normalization.
_base_ = [
    '../_base_/models/faster-rcnn_r18-tiny_fpn.py',
    '../_base_/datasets/synthetic_detection_chips.py',
    '../_base_/schedules/synthetic_1k.py',
    '../_base_/scale_norm/ms.py',
]
custom_imports = dict(imports=['mmdet_scalenorm'], allow_failed_imports=False)

train_dataloader = dict(batch_size=4, num_workers=2, dataset={{_base_.ms_chip_dataset}})
