# ISN Keypoint R-CNN on the synthetic benchmark (ISN §4.3.2): the keypoint baseline's model,
# schedule and batch with ISN's training and inference (configs/_base_/scale_norm/isn.py),
# keypoints loaded, scaled and cropped with the chips (configs/_base_/scale_norm/isn_keypoints.py);
# the 5-scale ISN test of isn.py keeps each surviving box's own keypoints (flips with the
# dataset's flip_indices).
_base_ = [
    '../_base_/models/keypoint-rcnn_r18-tiny_fpn.py',
    '../_base_/datasets/synthetic_keypoint_chips.py',
    '../_base_/schedules/synthetic_1k.py',
    '../_base_/scale_norm/isn_keypoints.py',
]
custom_imports = dict(imports=['mmdet_scalenorm'], allow_failed_imports=False)

model = {{_base_.isn_keypoint_model}}
train_dataloader = dict(batch_size=4, num_workers=2,
                        dataset={{_base_.isn_keypoint_chip_dataset}})
