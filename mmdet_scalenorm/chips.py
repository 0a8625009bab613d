"""Chip generation: the greedy chip cover of SNIPER (SNIP §6.2 "Sampling Sub-Images", ISN
§3.3.1 "the same chip generation strategy in SNIPER"), negative chip mining, and the per-image
enumeration over the pyramid that ``ChipDataset`` caches.

A *chip* is a ``chip_size x chip_size`` window of an image at one pyramid scale.  SNIP §6.2 picks,
over and over, the window that covers the most not-yet-covered objects until every object is
covered, with windows snapped to the image border; SNIPER does the same over windows on a grid.

* **Padded image**: ``W' = max(img_w, chip_size)``, ``H' = max(img_h, chip_size)``.  An image
  narrower (shorter) than the chip gets windows at ``x0 = 0`` (``y0 = 0``) only; such chips extend
  past it into the padding the batch collation adds.  Every chip lies inside ``[0, W'] x [0, H']``.
* **Boxes to cover**: each box is clipped to the image ``[0, img_w] x [0, img_h]`` (the part
  outside has no pixels).  A box is *coverable* when its coordinates are finite, its clipped width
  and height are positive (:func:`mmdet_scalenorm.scale.valid_gt_mask` with an unbounded range) and
  at most ``chip_size``; a box with a side above ``chip_size`` fits no chip and is left to coarser
  scales.  Bad data is skipped, never an error.
* **Candidate windows**, per axis: the grid ``0, stride, 2*stride, ... <= W' - chip_size``, the
  border start ``W' - chip_size``, and, for every coverable box that no grid or border window holds
  (a side above ``chip_size - stride``), a start snapped to the box, ``x0 = min(floor(x1), W' -
  chip_size)`` (likewise ``y0``).  With integer image sizes, chip and stride every start is an
  integer, so ``SampleChip``'s ``np.round`` leaves chips unchanged.  ``floor(x1)`` is the largest
  integer start left of the box: it contains the box whenever any integer window does
  (``ceil(x2) - floor(x1) <= chip_size``); otherwise (fractional ends, pixel extent
  ``chip_size + 1``) no integer crop can hold the box, and the cover holds all of it but the last
  fraction of a pixel past ``floor(x1) + chip_size``.
* **Greedy cover**: repeatedly take the window that *fully contains* the most uncovered boxes
  (ties: the first window in x-major, then y order) until every coverable box is covered, so every
  coverable box lies inside a chip.  Containment factorises per axis, so the counts of all windows
  are one matrix product ``Cx^T diag(u) Cy`` of the per-axis containment matrices (``u`` flags
  uncovered boxes): one iteration per chosen chip, no Python loop over windows.
* **Redundancy pruning** (optional, on by default): afterwards a chip whose boxes all lie inside
  other kept chips is dropped (latest-chosen first).  It only removes chips, so the result never
  has more chips than the plain greedy over the same candidates, and the cover stays complete.

Negative chips (SNIPER negative chip mining): :func:`negative_chip_pool` scales an image's proposals
to the current scale, keeps those valid there, and :func:`generate_negative_chips` covers, with the
same greedy, the ones that no positive chip fully contains.

Pure numpy (torch tensors are accepted and returned as tensors); no mmdet imports.
"""
from __future__ import annotations

import json
import math
import os
import pickle
from numbers import Real
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .scale import range_in_pixels, valid_gt_mask

ArrayLike = Union[np.ndarray, torch.Tensor]

__all__ = [
    'generate_chips', 'generate_negative_chips', 'negative_chip_pool', 'enumerate_image_chips',
    'candidate_starts', 'coverable_mask', 'resized_size', 'resize_boxes', 'load_proposals',
    'lookup_proposals', 'find_proposals_key', 'check_proposals_cover'
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
    """(N, 4) float64 xyxy from an (N, 4|5) array or tensor (a 5th score column is dropped)."""
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


# ------------------------------------------------------------------------------ pyramid resize
def resized_size(width: int, height: int, factor: float) -> Tuple[int, int]:
    """``(W_s, H_s)`` of a ``width x height`` image resized by ``factor``: mmcv's rounding,
    ``int(x * factor + 0.5)``, at least 1 pixel (what ``ResizeToChipScale`` produces)."""
    f = float(factor)
    return max(1, int(width * f + 0.5)), max(1, int(height * f + 0.5))


def resize_boxes(boxes, width: int, height: int, factor: float, clip: bool = True):
    """GT boxes of a ``width x height`` image as the chip pipeline leaves them after the resize.

    Bit for bit what ``LoadAnnotations`` + ``ResizeToChipScale`` (mmdet's ``Resize``) compute:
    float32 boxes times the float32 factors ``(sx, sy) = (W_s / width, H_s / height)``, clipped to
    ``[0, W_s] x [0, H_s]`` when ``clip`` (mmdet's ``clip_object_border``).  Returns
    ``(float32 (N, 4) boxes, (W_s, H_s), (sx, sy))``.
    """
    ws, hs = resized_size(width, height, factor)
    sx, sy = ws / width, hs / height
    out = np.asarray(boxes, dtype=np.float32).reshape(-1, 4) * \
        np.array([sx, sy, sx, sy], dtype=np.float32)
    if clip:
        out[:, 0::2] = np.clip(out[:, 0::2], 0, ws)
        out[:, 1::2] = np.clip(out[:, 1::2], 0, hs)
    return out, (ws, hs), (sx, sy)


# ------------------------------------------------------------------------------ greedy cover
def candidate_starts(img_extent: float, chip_size: float, stride: float) -> np.ndarray:
    """Grid starts along one axis: ``0, stride, 2*stride, ... <= P - chip_size`` plus the border
    start ``P - chip_size``, with ``P = max(img_extent, chip_size)`` the padded extent."""
    last = max(float(img_extent), float(chip_size)) - float(chip_size)
    n = int(np.floor(last / stride + 1e-9)) + 1
    starts = np.arange(n, dtype=np.float64) * stride
    if last - starts[-1] > 1e-9:
        starts = np.append(starts, last)
    return starts


def coverable_mask(boxes: np.ndarray, img_w: float, img_h: float,
                   chip_size: float) -> Tuple[np.ndarray, np.ndarray]:
    """``(boxes clipped to the image, mask)``: mask flags the coverable boxes (finite, positive
    clipped sides at most ``chip_size``; see the module docstring)."""
    # A non-finite box becomes NaN first, so clipping (inf -> border) cannot make it finite.
    clipped = np.where(np.isfinite(boxes).all(axis=1, keepdims=True), boxes, np.nan)
    with np.errstate(invalid='ignore'):
        clipped[:, 0::2] = np.clip(clipped[:, 0::2], 0, img_w)
        clipped[:, 1::2] = np.clip(clipped[:, 1::2], 0, img_h)
        fits = ((clipped[:, 2:] - clipped[:, :2]) <= chip_size).all(axis=1)
    return clipped, valid_gt_mask(clipped, 0, math.inf) & fits


def _axis_starts(lo: np.ndarray, hi: np.ndarray, extent: float, chip: float, stride: float):
    """Candidate starts along one axis (grid, border, snapped) and the targets' far ends."""
    grid = candidate_starts(extent, chip, stride)
    if len(lo) == 0:
        return grid, hi
    best = grid[np.searchsorted(grid, lo, side='right') - 1]  # last grid start <= lo (grid[0] = 0)
    missed = hi > best + chip
    if not missed.any():
        return grid, hi
    snap = np.minimum(np.floor(lo[missed]), grid[-1])
    hi = hi.copy()
    hi[missed] = np.minimum(hi[missed], snap + chip)  # trims only when no integer start exists
    return np.unique(np.concatenate([grid, snap])), hi


def _greedy_cover(boxes: np.ndarray, img_w: float, img_h: float, chip_size: float,
                  stride: float, min_count: int = 1, prune: bool = True) -> np.ndarray:
    """Greedy set cover of coverable, clipped ``boxes``; (M, 4) float64 chips."""
    if len(boxes) == 0:
        return np.zeros((0, 4), dtype=np.float64)
    xs, x2 = _axis_starts(boxes[:, 0], boxes[:, 2], img_w, chip_size, stride)
    ys, y2 = _axis_starts(boxes[:, 1], boxes[:, 3], img_h, chip_size, stride)
    # Per-axis containment: box i fits in x-window j iff xs[j] <= x1 and x2 <= xs[j] + chip.
    cx = (xs[None, :] <= boxes[:, 0:1]) & (x2[:, None] <= xs[None, :] + chip_size)
    cy = (ys[None, :] <= boxes[:, 1:2]) & (y2[:, None] <= ys[None, :] + chip_size)
    cx_f, cy_f = cx.astype(np.float32), cy.astype(np.float32)
    uncovered = np.ones(len(boxes), dtype=bool)
    chosen = []  # (j, k) window indices
    while uncovered.any():
        counts = cx_f[uncovered].T @ cy_f[uncovered]  # uncovered boxes inside (xs[j], ys[k])
        j, k = divmod(int(np.argmax(counts)), counts.shape[1])
        if counts[j, k] < min_count:
            break
        chosen.append((j, k))
        uncovered &= ~(cx[:, j] & cy[:, k])
    if prune and len(chosen) > 1:
        inside = np.stack([cx[:, j] & cy[:, k] for j, k in chosen], axis=1)  # (N, M)
        # With min_count > 1 only the boxes of chosen chips had to be covered.
        needed = inside.any(axis=1) if min_count > 1 else np.ones(len(boxes), dtype=bool)
        keep = np.ones(len(chosen), dtype=bool)
        for m in range(len(chosen) - 1, -1, -1):
            others = keep.copy()
            others[m] = False
            if not (inside[:, m] & needed & ~inside[:, others].any(axis=1)).any():
                keep[m] = False
        chosen = [c for c, kp in zip(chosen, keep) if kp]
    return np.array([[xs[j], ys[k], xs[j] + chip_size, ys[k] + chip_size] for j, k in chosen],
                    dtype=np.float64).reshape(-1, 4)


def generate_chips(boxes: ArrayLike, img_w: float, img_h: float, chip_size: float,
                   stride: float = 32, prune: bool = True) -> ArrayLike:
    """Greedy SNIPER chip cover of ``boxes`` (SNIP §6.2; the rules are in the module docstring).

    Args:
        boxes: (N, 4) xyxy boxes to cover, in pixels of the current (resized) image.
        img_w, img_h: size of the current image.
        chip_size: side of the square chips (> 0).
        stride: grid step of the candidate windows (0 < stride < chip_size).
        prune: drop chips made redundant by later ones (never increases the count).

    Returns:
        (M, 4) xyxy chips (array type of ``boxes``; float) in the order chosen (most boxes first),
        ``M == 0`` when no box needs covering.  Every coverable box (finite, positive clipped sides
        at most ``chip_size``) lies inside a chip (up to the last fraction of a pixel when no
        integer window holds it); chips lie inside ``[0, max(img_w, chip)] x [0, max(img_h,
        chip)]``.
    """
    _check_chip_args(chip_size, stride)
    _check_positive(img_w, 'img_w')
    _check_positive(img_h, 'img_h')
    clipped, mask = coverable_mask(_to_numpy_boxes(boxes), img_w, img_h, chip_size)
    chips = _greedy_cover(clipped[mask], img_w, img_h, float(chip_size), stride, prune=prune)
    return _like(chips, boxes)


def generate_negative_chips(proposals: ArrayLike, pos_chips: ArrayLike, img_w: float,
                            img_h: float, chip_size: float, stride: float = 32,
                            min_proposals: int = 1, prune: bool = True) -> ArrayLike:
    """SNIPER negative chips: the greedy cover of the proposals no positive chip contains.

    ``proposals``: (K, 4|5) xyxy[score] in current-image pixels, already restricted to this
    scale's range (see :func:`negative_chip_pool`).  A proposal (clipped to the image) fully inside
    one of ``pos_chips`` is dropped; the rest are covered as in :func:`generate_chips`, stopping
    once the best window holds fewer than ``min_proposals`` uncovered proposals.
    """
    _check_chip_args(chip_size, stride)
    _check_positive(img_w, 'img_w')
    _check_positive(img_h, 'img_h')
    if isinstance(min_proposals, bool) or not isinstance(min_proposals, (int, np.integer)) or \
            min_proposals < 1:
        raise ValueError(f'min_proposals must be an int >= 1; got {min_proposals!r}')
    pos = _to_numpy_boxes(pos_chips, 'pos_chips')
    clipped, mask = coverable_mask(_to_numpy_boxes(proposals, 'proposals'), img_w, img_h,
                                   chip_size)
    if len(pos) and mask.any():
        c, p = clipped[:, None, :], pos[None, :, :]
        mask &= ~((p[..., 0] <= c[..., 0]) & (p[..., 1] <= c[..., 1]) &
                  (c[..., 2] <= p[..., 2]) & (c[..., 3] <= p[..., 3])).any(axis=1)
    chips = _greedy_cover(clipped[mask], img_w, img_h, float(chip_size), stride,
                          min_count=int(min_proposals), prune=prune)
    return _like(chips, proposals)


def negative_chip_pool(proposals, scale_factor, pixel_range: Sequence[float], pos_chips,
                       img_w: float, img_h: float, chip_size: float, stride: float = 32,
                       min_proposals: int = 1) -> np.ndarray:
    """The negative-chip pool of one image-scale (SNIPER negative chip mining), THE one rule used
    by ``ChipDataset`` and ``SampleChip``.

    ``proposals``: (K, 4|5) in **original**-image pixels.  They are scaled by ``scale_factor``
    ``(sx, sy)`` (float64), clipped to the ``img_w x img_h`` image, kept when valid at this scale
    (:func:`~mmdet_scalenorm.scale.valid_gt_mask` in ``pixel_range``, current-image pixels), and
    :func:`generate_negative_chips` covers those that no positive chip contains.  (M, 4) float64.
    """
    props = _to_numpy_boxes(proposals, 'proposals')
    if len(props) == 0:
        return np.zeros((0, 4), dtype=np.float64)
    sf = np.asarray(1.0 if scale_factor is None else scale_factor, dtype=np.float64).reshape(-1)
    sx, sy = (sf[0], sf[0]) if sf.size == 1 else (sf[0], sf[1])
    scaled = props * np.array([sx, sy, sx, sy])
    with np.errstate(invalid='ignore'):
        scaled[:, 0::2] = np.clip(scaled[:, 0::2], 0, img_w)
        scaled[:, 1::2] = np.clip(scaled[:, 1::2], 0, img_h)
    scaled = scaled[valid_gt_mask(scaled, pixel_range[0], pixel_range[1])]
    return np.asarray(generate_negative_chips(scaled, _to_numpy_boxes(pos_chips, 'pos_chips'),
                                              img_w, img_h, chip_size, stride, min_proposals),
                      dtype=np.float64)


# ------------------------------------------------------------------------------ enumeration
def _centre_chip(ws: int, hs: int, chip_size: int) -> np.ndarray:
    x0, y0 = max(0, (ws - chip_size) // 2), max(0, (hs - chip_size) // 2)
    return np.array([[x0, y0, x0 + chip_size, y0 + chip_size]], dtype=np.float64)


def enumerate_image_chips(boxes, ignore, width: int, height: int,
                          scale_factors: Sequence[float], ranges: Sequence, reference: str,
                          chip_size: int, stride: int, proposals: Optional[np.ndarray] = None,
                          keep_empty: bool = False, clip_boxes: bool = True):
    """Chips of one image over the pyramid (SNIPER / ISN §3.3.1; ``ChipDataset``'s rule).

    For factor ``k``: the GT as the pipeline sees them (:func:`resize_boxes`), the range in pixels
    ``range_in_pixels(ranges[k], reference, (sx, sy))``, valid GT = not ``ignore`` and
    :func:`~mmdet_scalenorm.scale.valid_gt_mask` (exactly ``MarkValidRange``), positive chips =
    :func:`generate_chips` of the valid GT, or the centred chip with ``keep_empty`` when there is
    none; negative pool = :func:`negative_chip_pool` of ``proposals`` (original pixels).

    Returns ``(pos, neg)``: lists of ``(scale_index, (M, 4) float64 chips)``, resized pixels.
    """
    ignore = np.asarray(ignore, dtype=bool).reshape(-1)
    pos, neg = [], []
    for k, f in enumerate(scale_factors):
        scaled, (ws, hs), (sx, sy) = resize_boxes(boxes, width, height, f, clip_boxes)
        lo, hi = range_in_pixels(ranges[k], reference, (sx, sy))
        valid = valid_gt_mask(scaled, lo, hi) & ~ignore
        chips = np.asarray(generate_chips(scaled[valid].astype(np.float64), ws, hs, chip_size,
                                          stride))
        if len(chips):
            pos.append((k, chips))
        elif keep_empty:
            pos.append((k, _centre_chip(ws, hs, chip_size)))
        if proposals is not None and len(proposals):
            negs = negative_chip_pool(proposals, (sx, sy), (lo, hi), chips, ws, hs, chip_size,
                                      stride)
            if len(negs):
                neg.append((k, negs))
    return pos, neg


# ------------------------------------------------------------------------------ proposals files
def load_proposals(path: str) -> dict:
    """Load a proposals file: a dict from image key to that image's proposals.

    Format (pickle ``.pkl``/``.pickle``, else JSON): ``{key: proposals}`` where ``key`` is the image
    file's basename (``'000123.jpg'``), its ``img_id`` (int, or its string in JSON), or mmdet's
    ``'<parent dir>/<file name>'``, and ``proposals`` is a (K, 4) or (K, 5) array-like of
    ``x1, y1, x2, y2[, score]`` in **original-image** pixels (K may be 0), or a dict /
    ``InstanceData`` with a ``'bboxes'`` entry (mmdet's proposal-file format).
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


def find_proposals_key(table: dict, img_path: Optional[str] = None, img_id=None):
    """The key of an image in a proposals table, or None.  Tried in order: basename of
    ``img_path``, ``'<parent dir>/<basename>'`` (mmdet's key), ``img_id``, ``str(img_id)``."""
    keys = []
    if img_path:
        base = os.path.basename(img_path)
        keys += [base, os.path.join(os.path.basename(os.path.dirname(img_path)), base)]
    if img_id is not None:
        keys += [img_id, str(img_id)]
    return next((k for k in keys if k in table), None)


def lookup_proposals(table: dict, img_path: Optional[str] = None, img_id=None,
                     source: str = 'proposals file') -> np.ndarray:
    """(K, 4) float64 proposals (original pixels) of one image; ``ValueError`` naming the image
    and ``source`` when the table has no entry for it (an entry of zero proposals is fine)."""
    key = find_proposals_key(table, img_path, img_id)
    if key is None:
        raise ValueError(f'{source}: no proposals entry for image img_id={img_id!r} '
                         f'(img_path={img_path!r}); every image needs an entry keyed by its file '
                         "basename, '<dir>/<file>' or img_id (an empty list for none)")
    props = table[key]
    if isinstance(props, dict) or hasattr(props, 'bboxes'):
        props = props['bboxes'] if isinstance(props, dict) else props.bboxes
    return _to_numpy_boxes(props, f'{source}[{key!r}]')


def check_proposals_cover(table: dict, images: Iterable[Tuple[Optional[str], object]],
                          source: str, max_named: int = 10) -> None:
    """``ValueError`` unless every ``(img_path, img_id)`` of ``images`` has an entry in ``table``,
    naming up to ``max_named`` missing image ids and ``source``."""
    images = list(images)
    missing: List = [img_id if img_id is not None else path for path, img_id in images
                     if find_proposals_key(table, path, img_id) is None]
    if not missing:
        return
    named = ', '.join(repr(m) for m in missing[:max_named]) + \
        (f' ... (+{len(missing) - max_named} more)' if len(missing) > max_named else '')
    if len(missing) == len(images):
        example = ', '.join(repr(k) for k in list(table)[:3])
        raise ValueError(f'{source}: none of its {len(table)} entries (e.g. {example}) matches an '
                         f'image of the dataset (image ids {named}); keys must be the image file '
                         "basename, '<dir>/<file>' or the img_id")
    raise ValueError(f'{source} has no entry for {len(missing)} of the {len(images)} images of '
                     f'the dataset: image ids {named}; give every image an entry (an empty list '
                     'for none)')
