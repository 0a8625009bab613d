"""Chip generation: the greedy chip cover of SNIPER (SNIP §6.2 "Sampling Sub-Images", ISN
§3.3.1 "the same chip generation strategy in SNIPER").

A *chip* is a ``chip_size x chip_size`` window of an image at one pyramid scale.  SNIP §6.2 picks,
over and over, the window that covers the most not-yet-covered objects until every object is
covered, with windows snapped to the image border; SNIPER does the same over windows on a grid.

* **Candidate windows**: top-left corners on a ``stride`` grid, ``x0 in {0, stride, ...}`` with
  ``x0 <= W' - chip_size``, plus one window snapped to the right border (``x0 = W' - chip_size``),
  likewise for ``y0`` and the bottom border.  ``W' = max(img_w, chip_size)`` and
  ``H' = max(img_h, chip_size)`` is the *padded image*: an image narrower (shorter) than the chip
  gets windows at ``x0 = 0`` (``y0 = 0``) only, and chips extend past it into the padding the
  batch collation adds.  Every chip therefore lies inside ``[0, W'] x [0, H']``.
* **Boxes to cover**: each box is first clipped to the image ``[0, img_w] x [0, img_h]`` (the part
  outside the image has no pixels).  Boxes with a non-finite coordinate, or with zero/negative
  width or height after clipping, are ignored (rule for bad data, never an error).  Boxes with a
  side larger than ``chip_size - stride`` are left out, as in SNIPER: coarser scales cover them.
  Every other box fits some grid window (its left edge is less than ``stride`` from a grid line),
  so the cover is complete.
* **Greedy cover**: repeatedly take the window that *fully contains* the most uncovered boxes
  (ties: the first window in x-major, then y order) until no uncovered box is left.  Containment
  factorises per axis, so the counts of all windows are one matrix product ``Cx^T diag(u) Cy`` of
  the per-axis containment matrices (``Cx``: boxes x x-windows, ``Cy``: boxes x y-windows; ``u``
  flags uncovered boxes): no Python loop over candidate windows, one iteration per chosen chip.
* **Redundancy pruning** (optional, on by default): afterwards a chip whose boxes all lie inside
  other kept chips is dropped (latest-chosen first).  It only removes chips, so the result never
  has more chips than the plain greedy cover, and the cover stays complete.

Negative chips (SNIPER negative chip mining): :func:`generate_negative_chips` covers, with the
same greedy, the proposals that no positive chip fully contains.

Pure numpy (torch tensors are accepted and returned as tensors); no mmdet imports.
"""
from __future__ import annotations

import json
import os
import pickle
from numbers import Real
from typing import Optional, Tuple, Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor]

__all__ = [
    'generate_chips', 'generate_negative_chips', 'candidate_starts', 'coverable_mask',
    'load_proposals', 'lookup_proposals'
]


def _check_positive(value, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (Real, np.generic)) or \
            not np.isfinite(value) or value <= 0:
        raise ValueError(f'{key} must be a finite number > 0; got {value!r}')
    return value


def _check_chip_args(chip_size, stride) -> None:
    _check_positive(chip_size, 'chip_size')
    _check_positive(stride, 'stride')
    if stride >= chip_size:
        raise ValueError(f'stride must be > 0 and < chip_size ({chip_size}); got stride={stride}')


def _to_numpy_boxes(boxes, key: str = 'boxes') -> np.ndarray:
    if isinstance(boxes, torch.Tensor):
        boxes = boxes.detach().cpu().numpy()
    boxes = np.asarray(boxes)
    if boxes.size == 0:
        return np.zeros((0, 4), dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] < 4:
        raise ValueError(f'{key} must be an (N, 4) xyxy array; got shape {boxes.shape}')
    return boxes[:, :4].astype(np.float64, copy=False)


def _like(chips: np.ndarray, ref) -> ArrayLike:
    """Return ``chips`` with the array type (and float dtype/device) of ``ref``."""
    if isinstance(ref, torch.Tensor):
        dtype = ref.dtype if ref.is_floating_point() else torch.float32
        return torch.as_tensor(chips, dtype=dtype, device=ref.device)
    ref_dtype = getattr(ref, 'dtype', None)
    dtype = ref_dtype if ref_dtype is not None and np.issubdtype(ref_dtype, np.floating) \
        else np.float32
    return chips.astype(dtype)


def candidate_starts(img_extent: float, chip_size: float, stride: float) -> np.ndarray:
    """Top-left coordinates of the candidate windows along one axis.

    The grid ``0, stride, 2*stride, ... <= P - chip_size`` plus ``P - chip_size`` (snapped to the
    border), where ``P = max(img_extent, chip_size)`` is the padded extent.
    """
    last = max(float(img_extent), float(chip_size)) - float(chip_size)
    n = int(np.floor(last / stride + 1e-9)) + 1
    starts = np.arange(n, dtype=np.float64) * stride
    if last - starts[-1] > 1e-9:
        starts = np.append(starts, last)
    return starts


def coverable_mask(boxes: np.ndarray, img_w: float, img_h: float, chip_size: float,
                   stride: float) -> Tuple[np.ndarray, np.ndarray]:
    """Clip ``boxes`` to the image and flag those the cover must contain.

    Returns ``(clipped_boxes, mask)``: mask is False for non-finite boxes, boxes with no area inside
    the image, and boxes with a side larger than ``chip_size - stride`` (left to coarser scales).
    """
    clipped = boxes.copy()
    with np.errstate(invalid='ignore'):
        clipped[:, 0::2] = np.clip(clipped[:, 0::2], 0, img_w)
        clipped[:, 1::2] = np.clip(clipped[:, 1::2], 0, img_h)
        w = clipped[:, 2] - clipped[:, 0]
        h = clipped[:, 3] - clipped[:, 1]
        max_side = chip_size - stride
        mask = np.isfinite(boxes).all(axis=1) & (w > 0) & (h > 0) & (w <= max_side) & \
            (h <= max_side)
    return clipped, mask


def _greedy_cover(boxes: np.ndarray, xs: np.ndarray, ys: np.ndarray, chip_size: float,
                  min_count: int = 1, prune: bool = True) -> np.ndarray:
    """Greedy set cover of ``boxes`` (all coverable) by windows ``xs x ys``; (M, 4) chips."""
    if len(boxes) == 0:
        return np.zeros((0, 4), dtype=np.float64)
    # Per-axis containment: box i fits in x-window j iff xs[j] <= x1 and x2 <= xs[j] + chip.
    cx = (xs[None, :] <= boxes[:, 0:1]) & (boxes[:, 2:3] <= xs[None, :] + chip_size)
    cy = (ys[None, :] <= boxes[:, 1:2]) & (boxes[:, 3:4] <= ys[None, :] + chip_size)
    cx_f = cx.astype(np.float32)
    cy_f = cy.astype(np.float32)
    uncovered = np.ones(len(boxes), dtype=bool)
    chosen = []  # (j, k) window indices
    while uncovered.any():
        # counts[j, k] = number of uncovered boxes inside window (xs[j], ys[k]).
        counts = cx_f[uncovered].T @ cy_f[uncovered]
        flat = int(np.argmax(counts))
        j, k = divmod(flat, counts.shape[1])
        if counts[j, k] < min_count:
            break
        chosen.append((j, k))
        uncovered &= ~(cx[:, j] & cy[:, k])
    if prune and len(chosen) > 1:
        inside = np.stack([cx[:, j] & cy[:, k] for j, k in chosen], axis=1)  # (N, M)
        if min_count > 1:
            # Only boxes the kept cover was asked to contain count (boxes of chips above threshold).
            needed = inside.any(axis=1)
        else:
            needed = np.ones(len(boxes), dtype=bool)
        keep = np.ones(len(chosen), dtype=bool)
        for m in range(len(chosen) - 1, -1, -1):
            others = keep.copy()
            others[m] = False
            mine = inside[:, m] & needed
            if not (mine & ~inside[:, others].any(axis=1)).any():
                keep[m] = False
        chosen = [c for c, kp in zip(chosen, keep) if kp]
    chips = np.array([[xs[j], ys[k], xs[j] + chip_size, ys[k] + chip_size] for j, k in chosen],
                     dtype=np.float64).reshape(-1, 4)
    return chips


def generate_chips(boxes: ArrayLike, img_w: float, img_h: float, chip_size: float,
                   stride: float = 32, prune: bool = True) -> ArrayLike:
    """Greedy SNIPER chip cover of ``boxes`` (SNIP §6.2; see the module docstring for the rules).

    Args:
        boxes: (N, 4) xyxy boxes to cover, in pixels of the current (resized) image (numpy or
            torch).
        img_w, img_h: size of the current image.
        chip_size: side of the square chips (> 0).
        stride: grid step of the candidate windows (0 < stride < chip_size).
        prune: drop chips made redundant by later ones (never increases the count).

    Returns:
        (M, 4) xyxy chips (same array type as ``boxes``; float), in the order chosen (most boxes
        first).  ``M == 0`` when no box needs covering.  Every finite box with positive area inside
        the image and sides (after clipping to the image) at most ``chip_size - stride`` lies fully
        inside at least one chip; every chip lies inside ``[0, max(img_w, chip)] x [0, max(img_h,
        chip)]``.
    """
    _check_chip_args(chip_size, stride)
    _check_positive(img_w, 'img_w')
    _check_positive(img_h, 'img_h')
    arr = _to_numpy_boxes(boxes)
    clipped, mask = coverable_mask(arr, img_w, img_h, chip_size, stride)
    xs = candidate_starts(img_w, chip_size, stride)
    ys = candidate_starts(img_h, chip_size, stride)
    chips = _greedy_cover(clipped[mask], xs, ys, float(chip_size), prune=prune)
    return _like(chips, boxes)


def generate_negative_chips(proposals: ArrayLike, pos_chips: ArrayLike, img_w: float,
                            img_h: float, chip_size: float, stride: float = 32,
                            min_proposals: int = 1, prune: bool = True) -> ArrayLike:
    """SNIPER negative chip mining: chips covering the proposals no positive chip contains.

    Proposals (K, 4) or (K, 5) xyxy[score] in current-image pixels (the caller keeps those in the
    valid range of this scale).  A proposal fully inside any of ``pos_chips`` is dropped; the rest
    are covered by the greedy of :func:`generate_chips` (same clipping/size rules), stopping once
    the best remaining window holds fewer than ``min_proposals`` uncovered proposals.
    """
    _check_chip_args(chip_size, stride)
    _check_positive(img_w, 'img_w')
    _check_positive(img_h, 'img_h')
    if isinstance(min_proposals, bool) or not isinstance(min_proposals, (int, np.integer)) or \
            min_proposals < 1:
        raise ValueError(f'min_proposals must be an int >= 1; got {min_proposals!r}')
    props = _to_numpy_boxes(proposals, 'proposals')
    pos = _to_numpy_boxes(pos_chips, 'pos_chips')
    clipped, mask = coverable_mask(props, img_w, img_h, chip_size, stride)
    if len(pos) and mask.any():
        c = clipped[:, None, :]
        p = pos[None, :, :]
        inside_pos = ((p[..., 0] <= c[..., 0]) & (p[..., 1] <= c[..., 1]) &
                      (c[..., 2] <= p[..., 2]) & (c[..., 3] <= p[..., 3])).any(axis=1)
        mask &= ~inside_pos
    xs = candidate_starts(img_w, chip_size, stride)
    ys = candidate_starts(img_h, chip_size, stride)
    chips = _greedy_cover(clipped[mask], xs, ys, float(chip_size), min_count=int(min_proposals),
                          prune=prune)
    return _like(chips, proposals)


# ------------------------------------------------------------------------------------------------
# Proposals files for negative chip mining (used by SampleChip and ChipDataset).
# ------------------------------------------------------------------------------------------------
def load_proposals(path: str) -> dict:
    """Load a proposals file: a dict from image key to that image's proposals.

    Format (pickle ``.pkl``/``.pickle``, else JSON): ``{key: proposals}`` where ``key`` is the image
    file's basename (``'000123.jpg'``), its ``img_id`` (int, or its string in JSON), or mmdet's
    ``'<parent dir>/<file name>'``, and ``proposals`` is an (K, 4) or (K, 5) array-like of
    ``x1, y1, x2, y2[, score]`` in **original-image** pixels, or a dict / ``InstanceData`` with a
    ``'bboxes'`` entry (mmdet's proposal-file format).  Returns the dict as loaded.
    """
    if not os.path.isfile(path):
        raise ValueError(f'proposals_file: no such file {path!r}')
    if path.endswith(('.pkl', '.pickle')):
        with open(path, 'rb') as f:
            table = pickle.load(f)
    else:
        with open(path) as f:
            table = json.load(f)
    if not isinstance(table, dict):
        raise ValueError(f'proposals_file {path!r} must hold a dict {{image key: proposals}}; got '
                         f'{type(table).__name__}')
    return table


def lookup_proposals(table: dict, img_path: Optional[str] = None,
                     img_id=None) -> np.ndarray:
    """Proposals (K, 4) float array (original-image pixels) of one image; (0, 4) when absent.

    Keys tried in order: basename of ``img_path``, ``'<parent dir>/<basename>'`` (mmdet's key),
    ``img_id``, ``str(img_id)``.
    """
    keys = []
    if img_path:
        base = os.path.basename(img_path)
        keys += [base, os.path.join(os.path.basename(os.path.dirname(img_path)), base)]
    if img_id is not None:
        keys += [img_id, str(img_id)]
    for key in keys:
        if key in table:
            props = table[key]
            if isinstance(props, dict) or hasattr(props, 'bboxes'):
                props = props['bboxes'] if isinstance(props, dict) else props.bboxes
            if isinstance(props, torch.Tensor):
                props = props.detach().cpu().numpy()
            props = np.asarray(props, dtype=np.float64)
            if props.size == 0:
                return np.zeros((0, 4), dtype=np.float64)
            return _to_numpy_boxes(props, 'proposals')
    return np.zeros((0, 4), dtype=np.float64)
