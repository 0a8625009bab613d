# MS (multi-scale training and testing, the "MST" of SNIP Table 1 / ISN Table 6), stated once: ISN's
# pyramid {4, 2, 1, 0.5, 0.25}, 576-px chips and SNIPER epochs (./isn.py, inherited), but NO valid
# range: every object is trained at every scale (chips cover every object that fits one) and every
# detection of every scale is merged. Against ISN, the difference is exactly the scale normalization.
_base_ = ['./isn.py']

ms_chip_pipeline = [
    dict(type='LoadImageFromFileOrSkip'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='ResizeToChipScale'),
    dict(type='SampleChip', chip_size={{_base_.chip_size}}, stride={{_base_.chip_stride}}),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackScaleNormInputs'),
]
ms_chip_dataset = dict(
    scale_factors={{_base_.isn_factors}},
    valid_range=(0, 'inf'),  # no scale normalization: every object is valid
    reference='resized',
    chip_size={{_base_.chip_size}},
    stride={{_base_.chip_stride}},
    pipeline=ms_chip_pipeline)
# multi-scale inference (./isn.py's 5 views and merge) without the range filter. This base
# overrides its parent's ISN range itself, so no MS leaf can test with the ISN range by
# forgetting a line.
tta_model = dict(valid_range=(0, 'inf'))  # 'inf': mmengine cannot dump float('inf')
# The same loading instance masks (Mask R-CNN).
ms_instance_chip_pipeline = [
    dict(t, with_mask=True) if t['type'] == 'LoadAnnotations' else t for t in ms_chip_pipeline
]
ms_instance_chip_dataset = dict(ms_chip_dataset, pipeline=ms_instance_chip_pipeline)
