# ISN on the synthetic extreme-scale benchmark (the `make demo` model): the baseline's model,
# schedule and batch with ISN's training and inference (configs/_base_/scale_norm/isn.py): SNIPER
# epochs over every (image, scale, 576-px chip) at the factors {4, 2, 1, 0.5, 0.25} (ChipDataset +
# ChipInfiniteSampler), the ISN range [16, 560] in resized pixels, invalid GT ignored by the RPN
# and R-CNN assigners, R-CNN sampling restricted to the range, soft-NMS after the head and the
# 5-scale ISN test (`--tta`, also set by isn.py).
_base_ = [
    '../_base_/models/faster-rcnn_r18-tiny_fpn.py',
    '../_base_/datasets/synthetic_detection_chips.py',
    '../_base_/schedules/synthetic_1k.py',
    '../_base_/scale_norm/isn.py',
]
custom_imports = dict(imports=['mmdet_scalenorm'], allow_failed_imports=False)

model = {{_base_.isn_model}}
train_dataloader = dict(batch_size=4, num_workers=2, dataset={{_base_.isn_chip_dataset}})
