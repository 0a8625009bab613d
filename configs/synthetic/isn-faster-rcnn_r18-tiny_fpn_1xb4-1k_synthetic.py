# ISN on the synthetic extreme-scale benchmark (the `make demo` model): the baseline config of this
# folder with ISN's training and inference (configs/_base_/scale_norm/isn.py): SNIPER epochs over
# every (image, scale, 576-px chip) at the factors {4, 2, 1, 0.5, 0.25} (ChipDataset +
# ChipInfiniteSampler), the ISN range [16, 560] in resized pixels, invalid GT ignored by the RPN
# and R-CNN assigners, R-CNN sampling restricted to the range, soft-NMS after the head and the
# 5-scale ISN test (configs/_base_/tta/isn_tta.py). Same model, budget and optimizer as the
# baseline and MST configs.
_base_ = [
    './faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py',
    '../_base_/tta/isn_tta.py',
    '../_base_/scale_norm/isn.py',
]

model = {{_base_.isn_model}}

train_dataloader = dict(
    batch_sampler=None,  # chips are square: no aspect-ratio grouping
    sampler=dict(_delete_=True, type='ChipInfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='ChipDataset',
        dataset=dict(
            type='CocoDataset',
            data_root={{_base_.data_root}},
            metainfo={{_base_.metainfo}},
            ann_file='annotations/instances_train.json',
            data_prefix=dict(img='train/'),
            filter_cfg=dict(filter_empty_gt=True, min_size=32),
            pipeline=[]),
        scale_factors={{_base_.isn_factors}},
        valid_range={{_base_.isn_range}},
        reference='resized',
        chip_size={{_base_.chip_size}},
        stride={{_base_.chip_stride}},
        neg_proposals_file={{_base_.neg_proposals_file}},
        neg_chips_per_image={{_base_.neg_chips_per_image}},
        pipeline={{_base_.isn_chip_pipeline}}))
