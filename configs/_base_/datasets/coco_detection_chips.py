# COCO train2017 as SNIPER epochs: ChipDataset around mmdet's COCO training set, sampled by
# ChipEpochSampler (epoch-based schedules: one epoch = every (image, scale, chip) once). The method
# base fills in the pyramid and the chip pipeline, e.g.
#   train_dataloader = dict(dataset={{_base_.isn_chip_dataset}})
# Validation and test are mmdet's coco_detection.py's.
_base_ = ['mmdet::_base_/datasets/coco_detection.py']

train_dataloader = dict(
    batch_sampler=None,  # chips are square: no aspect-ratio grouping
    sampler=dict(_delete_=True, type='ChipEpochSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='ChipDataset',
        dataset=dict(
            type={{_base_.dataset_type}},
            data_root={{_base_.data_root}},
            ann_file='annotations/instances_train2017.json',
            data_prefix=dict(img='train2017/'),
            filter_cfg=dict(filter_empty_gt=True, min_size=32),
            pipeline=[],
            backend_args={{_base_.backend_args}})))
