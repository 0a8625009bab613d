# MS (multi-scale training and testing) Mask R-CNN on the synthetic benchmark: the instance
# baseline's model, schedule and batch on SNIPER epochs of 576-px chips at {4, 2, 1, 0.5, 0.25}
# without a valid range (configs/_base_/scale_norm/ms.py), 5-scale soft-NMS test without range.
_base_ = [
    '../_base_/models/mask-rcnn_r18-tiny_fpn.py',
    '../_base_/datasets/synthetic_instance_chips.py',
    '../_base_/schedules/synthetic_1k.py',
    '../_base_/scale_norm/ms.py',
]
custom_imports = dict(imports=['mmdet_scalenorm'], allow_failed_imports=False)

train_dataloader = dict(batch_size=4, num_workers=2, dataset={{_base_.ms_instance_chip_dataset}})
