# ISN Mask R-CNN on the synthetic benchmark (ISN §4.3.1): the instance baseline's model, schedule
# and batch with ISN's training and inference (configs/_base_/scale_norm/isn.py), masks loaded and
# cropped with the chips; the 5-scale ISN test keeps each surviving box's own mask.
_base_ = [
    '../_base_/models/mask-rcnn_r18-tiny_fpn.py',
    '../_base_/datasets/synthetic_instance_chips.py',
    '../_base_/schedules/synthetic_1k.py',
    '../_base_/scale_norm/isn.py',
]
custom_imports = dict(imports=['mmdet_scalenorm'], allow_failed_imports=False)

model = {{_base_.isn_model}}
train_dataloader = dict(batch_size=4, num_workers=2,
                        dataset={{_base_.isn_instance_chip_dataset}})
