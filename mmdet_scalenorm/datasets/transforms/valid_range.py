"""``MarkValidRange``: ignore ground truth outside the valid scale range at this pyramid scale.

SNIP §6.1 / §7.1 and ISN §3.3.1: at a pyramid scale only the objects whose scale ``sqrt(w*h)`` lies
in a valid range take part in training; the others are *ignored* (they invalidate anchors, are never
sampled), not deleted.  This transform runs after the resize and ORs the out-of-range instances into
``results['gt_ignore_flags']``, so ``PackDetInputs`` moves them (masks and keypoints included) to
``ignored_instances``.

* ``reference='resized'`` (ISN §3.3.1): the range is in pixels of the current (resized) image, one
  range for every scale; default ``(16, 560)`` (ISN §4.1).
* ``reference='original'`` (SNIP §7.1): the range is in pixels of the original image, one range per
  scale (put one ``MarkValidRange`` after each ``Resize`` inside a ``RandomChoice``).  The box scale
  in original pixels is ``sqrt(w*h / (sx*sy))``, so the range applied to the resized boxes is
  ``(lo, hi) * sqrt(sx*sy)`` with ``(sx, sy) = results['scale_factor']`` (1 when absent).

The validity rule is :func:`mmdet_scalenorm.scale.valid_gt_mask` (the one GT rule of the package):
the range is closed on both ends (``lo <= s <= hi``), ``hi`` may be ``inf``, boxes with a
non-finite coordinate or zero/negative width or height are always invalid, and the scale is computed
in float64.  The range conversion is :func:`mmdet_scalenorm.scale.range_in_pixels`.  Crowd (already
ignored) instances stay ignored.

Results keys written (see notes/contracts): ``valid_range`` = the range in current-image pixels,
``valid_range_info`` = dict(reference, range (as configured), num_valid, num_invalid) where
``num_valid`` counts the instances left for training and ``num_invalid`` those this transform newly
marked (already-ignored crowd instances are in neither count).

An image-scale pair with no valid instance is skipped (``None`` is returned, so mmengine's dataset
fetches another sample), as SNIP §7.1 does, unless ``keep_empty=True``.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import BaseBoxes

from ...scale import REFERENCES, parse_range, range_in_pixels, valid_gt_mask


def gt_boxes_numpy(results: dict, dtype=np.float32) -> np.ndarray:
    """``results['gt_bboxes']`` (HorizontalBoxes, tensor or array) as an (N, 4) array of
    ``dtype``; ``dtype=None`` keeps a floating input's own dtype (integers become float64)."""
    boxes = results.get('gt_bboxes', None)
    if boxes is None:
        return np.zeros((0, 4), dtype=np.float32 if dtype is None else dtype)
    if isinstance(boxes, BaseBoxes):
        boxes = boxes.tensor
    if isinstance(boxes, torch.Tensor):
        boxes = boxes.detach().cpu().numpy()
    boxes = np.asarray(boxes)
    if dtype is None:
        dtype = boxes.dtype if np.issubdtype(boxes.dtype, np.floating) else np.float64
    return boxes.astype(dtype, copy=False).reshape(-1, 4)


@TRANSFORMS.register_module()
class MarkValidRange(BaseTransform):
    """Mark GT outside ``valid_range`` as ignored (SNIP §6.1, ISN §3.3.1).

    Required keys: ``gt_bboxes`` (HorizontalBoxes or (N, 4) array; missing = no GT).
    Optional keys: ``gt_ignore_flags`` (crowd), ``scale_factor`` (for ``reference='original'``).
    Modified keys: ``gt_ignore_flags``.  Added keys: ``valid_range``, ``valid_range_info``.

    Args:
        valid_range (tuple): ``(lo, hi)``, closed, ``hi`` may be ``inf``/``'inf'``/``None``.
            Defaults to ISN's ``(16, 560)``.
        reference (str): ``'resized'`` (ISN) or ``'original'`` (SNIP).
        keep_empty (bool): keep an image-scale pair with no valid GT instead of returning ``None``.
    """

    def __init__(self, valid_range=(16, 560), reference: str = 'resized',
                 keep_empty: bool = False) -> None:
        self.valid_range = parse_range(valid_range, 'valid_range')
        if reference not in REFERENCES:
            raise ValueError(f'reference must be one of {REFERENCES}; got {reference!r}')
        if not isinstance(keep_empty, bool):
            raise ValueError(f'keep_empty must be True or False; got {keep_empty!r}')
        self.reference = reference
        self.keep_empty = keep_empty

    def pixel_range(self, results: dict):
        """The valid range in pixels of the current image
        (:func:`mmdet_scalenorm.scale.range_in_pixels` with ``results['scale_factor']``)."""
        return range_in_pixels(self.valid_range, self.reference, results.get('scale_factor'))

    def transform(self, results: dict) -> Optional[dict]:
        # the boxes' own dtype: valid_gt_mask computes in float64, no float32 rounding first
        boxes = gt_boxes_numpy(results, dtype=None)
        n = len(boxes)
        lo, hi = self.pixel_range(results)
        valid = valid_gt_mask(boxes, lo, hi)
        ignore = results.get('gt_ignore_flags', None)
        ignore = np.zeros(n, dtype=bool) if ignore is None else \
            np.asarray(ignore, dtype=bool).reshape(-1)
        if len(ignore) != n:
            raise ValueError(f'MarkValidRange: gt_ignore_flags has {len(ignore)} entries for {n} '
                             'gt_bboxes')
        newly_invalid = ~valid & ~ignore
        ignore = ignore | ~valid
        num_valid = int((~ignore).sum())
        results['gt_ignore_flags'] = ignore
        results['valid_range'] = (float(lo), float(hi))
        results['valid_range_info'] = dict(
            reference=self.reference,
            range=tuple(self.valid_range),
            num_valid=num_valid,
            num_invalid=int(newly_invalid.sum()))
        if num_valid == 0 and not self.keep_empty:
            return None
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(valid_range={self.valid_range}, '
                f'reference={self.reference!r}, keep_empty={self.keep_empty})')
