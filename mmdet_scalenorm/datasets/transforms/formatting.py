"""``PackScaleNormInputs``: mmdet's ``PackDetInputs`` whose default ``meta_keys`` keep the scale
metadata the training rules read.

``MarkValidRange`` writes each image-scale's range in current pixels as ``valid_range`` (SNIP §6.1:
"we do not select proposals ... outside a specified size range at a particular resolution"), and
``ScaleNormRoIHead`` hands it to ``ValidRangeSampler``.  mmdet's ``PackDetInputs`` keeps only the
``meta_keys`` a config lists, so a config that packs with its defaults drops the range and the
R-CNN range rule would be off (``ScaleNormRoIHead`` then raises).  This packer's defaults are
``PackDetInputs``' plus :data:`SCALE_META_KEYS`; keys a sample lacks are skipped, as
``PackDetInputs`` does, so it also serves pipelines without ranges or chips.
"""
from mmdet.datasets.transforms import PackDetInputs
from mmdet.registry import TRANSFORMS

__all__ = ['PackScaleNormInputs', 'DET_META_KEYS', 'SCALE_META_KEYS']

#: ``PackDetInputs``' default meta keys (mmdet 3.3)
DET_META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                 'flip_direction')
#: what ``MarkValidRange`` (range, its source) and ``SampleChip`` (chip window, pos/neg) write
SCALE_META_KEYS = ('valid_range', 'valid_range_info', 'chip', 'chip_type')


@TRANSFORMS.register_module()
class PackScaleNormInputs(PackDetInputs):
    """``PackDetInputs`` with ``meta_keys`` defaulting to ``DET_META_KEYS + SCALE_META_KEYS``.

    Args:
        meta_keys (tuple): as ``PackDetInputs``; an explicit tuple replaces the default, and
            must then list ``'valid_range'`` itself for the R-CNN range rule.
    """

    def __init__(self, meta_keys=DET_META_KEYS + SCALE_META_KEYS) -> None:
        super().__init__(meta_keys=meta_keys)
