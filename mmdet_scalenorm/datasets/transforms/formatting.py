"""``PackScaleNormInputs``: mmdet's ``PackDetInputs`` whose default ``meta_keys`` keep the scale
metadata the training rules read.

``MarkValidRange`` writes each image-scale's range in current pixels as ``valid_range`` (SNIP §6.1:
"we do not select proposals ... outside a specified size range at a particular resolution"), and
``ScaleNormRoIHead`` hands it to ``ValidRangeSampler``.  mmdet's ``PackDetInputs`` keeps only the
``meta_keys`` a config lists, so a config that packs with its defaults drops the range and the
R-CNN range rule would be off (``ScaleNormRoIHead`` then raises).  This packer's defaults are
``PackDetInputs``' plus :data:`SCALE_META_KEYS`; keys a sample lacks are skipped, as
``PackDetInputs`` does, so it also serves pipelines without ranges or chips.

Keypoints (Keypoint R-CNN, ISN §4.3.2): ``results['gt_keypoints']`` (N, K, 3), aligned with
``gt_bboxes``, is packed as float32 ``gt_instances.keypoints``, and the rows whose
``gt_ignore_flags`` is True (crowd, or out of the valid range by ``MarkValidRange``) as
``ignored_instances.keypoints``: ``PackDetInputs``' own split, through its ``mapping_table``.
``flip_indices`` (:data:`KEYPOINT_META_KEYS`, set by ``CocoKeypointDataset``) is packed into the
metainfo, where the TTA merger reads it to flip predicted keypoints back.
"""
import numpy as np
from mmdet.datasets.transforms import PackDetInputs
from mmdet.registry import TRANSFORMS

__all__ = ['PackScaleNormInputs', 'DET_META_KEYS', 'SCALE_META_KEYS', 'KEYPOINT_META_KEYS']

#: ``PackDetInputs``' default meta keys (mmdet 3.3)
DET_META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                 'flip_direction')
#: what ``MarkValidRange`` (range, its source) and ``SampleChip`` (chip window, pos/neg) write
SCALE_META_KEYS = ('valid_range', 'valid_range_info', 'chip', 'chip_type')
#: what ``CocoKeypointDataset`` adds: the left/right keypoint swap of a horizontal flip
KEYPOINT_META_KEYS = ('flip_indices', )


@TRANSFORMS.register_module()
class PackScaleNormInputs(PackDetInputs):
    """``PackDetInputs`` with ``meta_keys`` defaulting to
    ``DET_META_KEYS + SCALE_META_KEYS + KEYPOINT_META_KEYS``, packing ``gt_keypoints`` too.

    Args:
        meta_keys (tuple): as ``PackDetInputs``; an explicit tuple replaces the default, and
            must then list ``'valid_range'`` itself for the R-CNN range rule.
    """

    mapping_table = dict(PackDetInputs.mapping_table, gt_keypoints='keypoints')

    def __init__(self, meta_keys=DET_META_KEYS + SCALE_META_KEYS + KEYPOINT_META_KEYS) -> None:
        super().__init__(meta_keys=meta_keys)

    def transform(self, results: dict) -> dict:
        """``PackDetInputs.transform`` after checking ``gt_keypoints`` (N, K, 3), N = the number
        of ``gt_bboxes``, and casting it to float32."""
        if results.get('gt_keypoints', None) is not None:
            kps = np.asarray(results['gt_keypoints'], dtype=np.float32)
            n = len(results['gt_bboxes']) if results.get('gt_bboxes', None) is not None else None
            if kps.ndim != 3 or kps.shape[2] != 3 or (n is not None and len(kps) != n):
                raise ValueError(f'PackScaleNormInputs: image {results.get("img_id")}: '
                                 f'gt_keypoints must be (N, K, 3) with N = {n} gt_bboxes; got '
                                 f'shape {kps.shape}')
            results['gt_keypoints'] = kps
        return super().transform(results)
