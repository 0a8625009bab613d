# The synthetic benchmark's keypoint training set as SNIPER epochs: ./synthetic_keypoint.py's
# CocoKeypointDataset wrapped in ChipDataset (as ./synthetic_detection_chips.py wraps the detection
# one) and sampled by ChipInfiniteSampler. The method base fills in the pyramid and the chip
# pipeline that loads the keypoints (ResizeToChipScale scales them, SampleChip crops them), e.g.
#   train_dataloader = dict(batch_size=4, dataset={{_base_.isn_keypoint_chip_dataset}})
# Validation, test and the evaluator are ./synthetic_keypoint.py's.
_base_ = ['./synthetic_keypoint.py']

train_dataloader = dict(
    batch_sampler=None,  # chips are square: no aspect-ratio grouping
    sampler=dict(_delete_=True, type='ChipInfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='ChipDataset',
        dataset=dict(_base_.train_dataloader.dataset, pipeline=[])))
