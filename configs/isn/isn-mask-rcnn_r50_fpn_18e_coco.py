# ISN training of Mask R-CNN R50-FPN on COCO (ISN §4.3.1, Table 8: MS train & test 41.0 box /
# 37.6 mask AP -> ISN 43.0 / 39.0): the ISN recipe of configs/_base_/scale_norm/isn.py (SNIPER
# epochs of 576-px chips at {4, 2, 1, 0.5, 0.25}, range [16, 560] in resized pixels, invalid GT
# ignored, range-aware R-CNN sampling, soft-NMS after the head) with the chip pipeline that loads
# masks. The mask branch trains on the RoIs the range-aware sampler keeps. Test: single scale, or
# `--tta` for the 5-scale ISN inference (each surviving box keeps its own view's mask, pasted at
# the original image size).
#
# mmdet's mask-rcnn_r50_fpn_1x_coco.py with its 1x schedule swapped for ISN's 18e (its bases are
# listed instead of the 1x config, as in isn-faster-rcnn_r50_fpn_18e_coco.py).
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    '../_base_/schedules/isn_18e.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/tta/isn_tta.py',
    '../_base_/scale_norm/isn.py',
]
custom_imports = dict(imports=['mmdet_scalenorm'], allow_failed_imports=False)

model = {{_base_.isn_model}}

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
            backend_args={{_base_.backend_args}}),
        scale_factors={{_base_.isn_factors}},
        valid_range={{_base_.isn_range}},
        reference='resized',
        chip_size={{_base_.chip_size}},
        stride={{_base_.chip_stride}},
        neg_proposals_file={{_base_.neg_proposals_file}},
        neg_chips_per_image={{_base_.neg_chips_per_image}},
        pipeline={{_base_.isn_instance_chip_pipeline}}))
