# COCO person keypoints as SNIPER epochs: ./coco_keypoint.py's training set wrapped in ChipDataset
# (as ./coco_detection_chips.py wraps COCO detection) and sampled by ChipEpochSampler. The method
# base fills in the pyramid and the chip pipeline that loads the keypoints, e.g.
#   train_dataloader = dict(dataset={{_base_.isn_keypoint_chip_dataset}})
# Validation, test and the evaluator are ./coco_keypoint.py's.
_base_ = ['./coco_keypoint.py']

train_dataloader = dict(
    batch_sampler=None,  # chips are square: no aspect-ratio grouping
    sampler=dict(_delete_=True, type='ChipEpochSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='ChipDataset',
        dataset=dict(_base_.train_dataloader.dataset, pipeline=[])))
