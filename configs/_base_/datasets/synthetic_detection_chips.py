# The synthetic benchmark's training set as SNIPER epochs: ChipDataset around the COCO-format
# training set, sampled by ChipInfiniteSampler (iteration-based schedules). The method base fills
# in the pyramid and the chip pipeline, e.g.
#   train_dataloader = dict(batch_size=4, dataset={{_base_.isn_chip_dataset}})
# Validation and test are ../datasets/synthetic_detection.py's.
_base_ = ['./synthetic_detection.py']

train_dataloader = dict(
    batch_sampler=None,  # chips are square: no aspect-ratio grouping
    sampler=dict(_delete_=True, type='ChipInfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='ChipDataset',
        dataset=dict(
            type={{_base_.dataset_type}},
            data_root={{_base_.data_root}},
            metainfo={{_base_.metainfo}},
            ann_file='annotations/instances_train.json',
            data_prefix=dict(img='train/'),
            filter_cfg=dict(filter_empty_gt=True, min_size=32),
            pipeline=[],
            backend_args={{_base_.backend_args}})))
