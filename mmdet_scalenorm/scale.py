"""The one scale rule shared by every part of mmdet-scalenorm.

SNIP (Singh & Davis, 2018, §5 and §6.1) and ISN (§3.3.1) measure an object by the square root of
its box area, ``sqrt(w * h)``, and call a ground truth (or a detection) *valid* at a pyramid scale
when that size lies inside a range ``[lo, hi]``:

* SNIP: one range per scale, measured in pixels of the **original** image, e.g.
  ``(0, 80)`` at 1400x2000, ``(40, 160)`` at 800x1200 and ``(120, inf)`` at 480x800.
* ISN: one range for every scale, measured in pixels of the **resized** image, ``[16, 560]``.

Edge convention (used everywhere, do not re-implement it): a range is **closed on both ends**,
``lo <= scale <= hi``, as the ISN paper writes ``[16, 560]``. ``hi`` may be ``inf``.  A NaN scale is
never in range.  Degenerate boxes (zero or negative width/height) have scale 0.
"""
from __future__ import annotations

import math
from numbers import Real
from typing import Iterable, Sequence, Tuple, Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor]
Range = Tuple[float, float]

UNBOUNDED: Range = (0.0, math.inf)

REFERENCES = ('resized', 'original')

__all__ = [
    'UNBOUNDED', 'REFERENCES', 'box_scale', 'in_range', 'parse_range', 'parse_ranges',
    'is_unbounded', 'mean_scale_factor', 'valid_gt_mask', 'range_in_pixels'
]


def box_scale(boxes: ArrayLike) -> ArrayLike:
    """Scale ``sqrt(w * h)`` of ``(..., 4)`` xyxy boxes (numpy or torch, same type back).

    Widths and heights below zero count as zero, so degenerate boxes have scale 0; NaN stays NaN.
    """
    if isinstance(boxes, torch.Tensor):
        w = (boxes[..., 2] - boxes[..., 0]).clamp(min=0)
        h = (boxes[..., 3] - boxes[..., 1]).clamp(min=0)
        return torch.sqrt(w * h)
    boxes = np.asarray(boxes)
    if not np.issubdtype(boxes.dtype, np.floating):
        boxes = boxes.astype(np.float32)
    # np.maximum propagates NaN, like torch.clamp.
    w = np.maximum(boxes[..., 2] - boxes[..., 0], 0)
    h = np.maximum(boxes[..., 3] - boxes[..., 1], 0)
    return np.sqrt(w * h)


def mean_scale_factor(scale_factor) -> float:
    """``sqrt(sx * sy)`` of an mmdet ``scale_factor`` ((sx, sy), a scalar, or None -> 1.0): how
    much a resize scales ``sqrt(w*h)``, the factor between original and resized scales."""
    if scale_factor is None:
        return 1.0
    sf = np.asarray(scale_factor, dtype=np.float64).reshape(-1)
    sx, sy = (sf[0], sf[0]) if sf.size == 1 else (sf[0], sf[1])
    return math.sqrt(float(sx) * float(sy))


def in_range(scales: ArrayLike, lo: float, hi: float) -> ArrayLike:
    """Boolean mask of ``lo <= scales <= hi`` (closed range; NaN is never in range)."""
    return (scales >= lo) & (scales <= hi)


def is_unbounded(rng: Sequence[float]) -> bool:
    """True when ``rng`` admits every non-negative scale (the rule is switched off)."""
    return rng[0] <= 0 and math.isinf(rng[1])


def _to_float(v, key: str) -> float:
    if v is None:
        return math.inf
    if isinstance(v, str) and v.strip().lower() in ('inf', '+inf', 'infinity'):
        return math.inf
    if isinstance(v, bool) or not isinstance(v, (Real, np.generic)):
        raise ValueError(f'{key}: range ends must be numbers (or "inf"/None for no upper '
                         f'bound), got {v!r} of type {type(v).__name__}')
    return float(v)


def parse_range(rng, key: str = 'valid_range') -> Range:
    """Validate a config range and return it as ``(lo, hi)`` floats.

    Accepts a 2-sequence ``(lo, hi)`` with ``0 <= lo <= hi``; ``hi`` may be ``inf``,
    ``float('inf')``, the string ``'inf'`` or ``None`` (no upper bound).  Raises ``ValueError``
    naming ``key`` and the allowed values otherwise.
    """
    allowed = '(lo, hi) with 0 <= lo <= hi, hi may be inf'
    if isinstance(rng, (str, bytes)) or not isinstance(rng, Iterable):
        raise ValueError(f'{key} must be {allowed}; got {rng!r}')
    rng = list(rng)
    if len(rng) != 2:
        raise ValueError(f'{key} must be {allowed}; got {len(rng)} values: {rng!r}')
    lo, hi = _to_float(rng[0], key), _to_float(rng[1], key)
    if math.isnan(lo) or math.isnan(hi):
        raise ValueError(f'{key} must be {allowed}; got NaN in {rng!r}')
    if lo < 0 or math.isinf(lo):
        raise ValueError(f'{key} must be {allowed}; got lo={lo}')
    if lo > hi:
        raise ValueError(f'{key} must be {allowed}; got lo={lo} > hi={hi}')
    return lo, hi


def parse_ranges(ranges, key: str = 'scale_ranges') -> list:
    """Validate a list of ranges (one per pyramid scale) with :func:`parse_range`."""
    if isinstance(ranges, (str, bytes)) or not isinstance(ranges, Iterable):
        raise ValueError(f'{key} must be a list of (lo, hi) ranges; got {ranges!r}')
    out = [parse_range(r, f'{key}[{i}]') for i, r in enumerate(ranges)]
    if not out:
        raise ValueError(f'{key} must hold at least one (lo, hi) range; got an empty list')
    return out


def valid_gt_mask(boxes: ArrayLike, lo: float, hi: float) -> np.ndarray:
    """THE ground-truth validity rule (SNIP §6.1, ISN §3.3.1): a GT box is valid at a scale when
    all its coordinates are finite, its width and height are positive, and its scale
    ``sqrt(w*h)`` lies in the closed range ``[lo, hi]`` (pixels of the current image).

    Computed in float64 whatever the input dtype, so a box whose float32 coordinates put it
    exactly on ``lo`` or ``hi`` gets the same answer in every caller. Returns an ``(N,)`` bool
    numpy array (a torch tensor is moved to the CPU).
    """
    if isinstance(boxes, torch.Tensor):
        boxes = boxes.detach().cpu().numpy()
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    with np.errstate(invalid='ignore'):
        w = boxes[:, 2] - boxes[:, 0]
        h = boxes[:, 3] - boxes[:, 1]
        return np.isfinite(boxes).all(axis=1) & (w > 0) & (h > 0) & \
            in_range(box_scale(boxes), lo, hi)


def range_in_pixels(rng: Sequence[float], reference: str, scale_factor=None) -> Range:
    """A configured range converted to pixels of the current (resized) image.

    ``reference='resized'`` (ISN §3.3.1): the range is already in resized pixels and is returned
    as is. ``reference='original'`` (SNIP §7.1): the range is in original-image pixels; a box of
    original scale ``s`` has scale ``s * sqrt(sx * sy)`` after a resize by ``(sx, sy)``, so the
    range becomes ``(lo, hi) * mean_scale_factor(scale_factor)`` (``inf`` stays ``inf``).
    """
    if reference not in REFERENCES:
        raise ValueError(f'reference must be one of {REFERENCES}; got {reference!r}')
    lo, hi = float(rng[0]), float(rng[1])
    if reference == 'resized':
        return lo, hi
    f = mean_scale_factor(scale_factor)
    return lo * f, hi * f
