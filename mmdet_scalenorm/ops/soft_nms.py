"""Class-aware soft-NMS for the multi-scale merge (CPU: mmcv's kernel per class; CUDA: pure torch).

SNIP §6.1 (and Fig. 6) merges the detections of every pyramid scale with soft-NMS (Bodla et al.,
2017); ISN §4.1 uses soft-NMS too.  mmcv's ``batched_nms(..., dict(type='soft_nms'))`` runs one
O(N²) soft-NMS over *all* classes at once (the class offset trick), which is slow for 80 classes,
and ``mmcv.ops.soft_nms`` is CPU-only and per class.  :func:`batched_soft_nms` has two backends:

* ``'mmcv'`` (default for CPU tensors): one stable sort by label, then mmcv's compiled
  ``softnms`` kernel called directly on each class's contiguous slice (no per-class masks over all
  N, no Python wrapper, outputs written into one pre-allocated buffer).  CUDA inputs given this
  backend explicitly are copied to the CPU and the results back.
* ``'torch'`` (default for CUDA tensors): boxes are padded per class into a ``(C, M)`` table and
  the ``M`` sequential soft-NMS steps each pick the current maximum of every class and decay that
  class's remaining boxes in one vectorised operation (cost: largest class size x op overhead).

Semantics (both backends) are those of mmcv 2.1's ``softnms_cpu``
(``mmcv/ops/csrc/pytorch/cpu/nms.cpp``) run on each class separately, with ``offset=0``:

* IoU = inter / (area_i + area_j - inter), areas ``(x2 - x1) * (y2 - y1)``, intersection sides
  clamped at 0, in float32 (half and double inputs are computed in float32 by ``'mmcv'``; the
  ``'torch'`` backend computes double inputs in float64).
* Weights: ``'naive'``: 0 if IoU >= thr else 1; ``'linear'``: 1 - IoU if IoU >= thr else 1;
  ``'gaussian'``: exp(-IoU² / sigma) (``iou_threshold`` unused).
* At every step the box with the highest current score is kept with that score; every remaining box
  of its class is then multiplied by its weight and dropped if its score falls below
  ``min_score``.  The first box of a class is therefore kept even below ``min_score``; every later
  one is at or above it.
* Ties pick the first box in mmcv's internal array order (the picked box swaps with the box at the
  current position; a dropped box is replaced by the last remaining one), which the ``'torch'``
  backend reproduces exactly, so tied scores give the same kept set on both backends.

Deliberate differences from mmcv, stated as rules:

* Boxes or scores that are NaN or infinite are dropped first, with a warning (mmcv would propagate
  them); ``keep`` still indexes the caller's input.
* A degenerate box (``x2 <= x1`` or ``y2 <= y1``) has IoU 0 with every box (mmcv divides 0/0 for
  two zero-area boxes and, for the Gaussian method, keeps NaN scores).  The ``'mmcv'`` backend
  feeds the kernel the stand-in box ``(1, 1, 0, 0)`` (area 1, empty intersection with everything)
  in its place, which gives exactly IoU 0; the output boxes are always the caller's.
* The merged output is sorted by score, descending; equal scores are ordered by soft-NMS step
  (pick rank within the class), then by label.

Speed (benchmarks/bench_soft_nms.py): the ``'mmcv'`` backend costs one kernel call per class.
"""
from __future__ import annotations

import math
import warnings
from typing import Tuple

import torch
from mmcv.utils import ext_loader
from torch import Tensor

__all__ = ['batched_soft_nms', 'SOFT_NMS_METHODS', 'SOFT_NMS_BACKENDS']

SOFT_NMS_METHODS = ('naive', 'linear', 'gaussian')
SOFT_NMS_BACKENDS = ('auto', 'mmcv', 'torch')

# mmcv's compiled CPU kernel (what mmcv.ops.soft_nms calls through SoftNMSop)
_ext = ext_loader.load_ext('_ext', ['softnms'])
_MMCV_METHOD_CODE = {'naive': 0, 'linear': 1, 'gaussian': 2}
_DEGENERATE_STAND_IN = (1., 1., 0., 0.)  # x1 > x2, y1 > y2: area 1

def _validate(iou_threshold, sigma, min_score, method, max_num) -> None:
    if method not in SOFT_NMS_METHODS:
        raise ValueError(f'method must be one of {SOFT_NMS_METHODS}; got {method!r}')
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not sigma > 0 \
            or math.isinf(sigma):
        raise ValueError(f'sigma must be a finite number > 0; got {sigma!r}')
    if isinstance(iou_threshold, bool) or not isinstance(iou_threshold, (int, float)) \
            or not 0 <= iou_threshold <= 1:
        raise ValueError(f'iou_threshold must be a number in [0, 1]; got {iou_threshold!r}')
    if isinstance(min_score, bool) or not isinstance(min_score, (int, float)) \
            or math.isnan(min_score):
        raise ValueError(f'min_score must be a number; got {min_score!r}')
    if isinstance(max_num, bool) or not isinstance(max_num, int):
        raise ValueError(f'max_num must be an int (<= 0 keeps all); got {max_num!r}')


def _iou_to_weight(iou: Tensor, method: str, iou_threshold: float, sigma: float) -> Tensor:
    if method == 'gaussian':
        return torch.exp(-(iou * iou) / sigma)
    hit = iou >= iou_threshold
    if method == 'linear':
        return torch.where(hit, 1 - iou, torch.ones_like(iou))
    return (~hit).to(iou.dtype)  # naive


def _compact_src(alive: Tensor) -> Tuple[Tensor, Tensor]:
    """Source positions that reproduce mmcv's in-place removal order, for every class at once.

    ``alive (C, R)`` says which boxes of the segment after the pick survived this step.  mmcv scans
    left to right and replaces a dropped box by the last remaining one, so with ``k`` survivors the
    survivors among the first ``k`` positions stay put and the j-th hole there (left to right)
    receives the j-th survivor beyond ``k`` counted from the right.  Returns ``src (C, R)`` with
    ``new[:, p] = old[:, src[:, p]]`` for the first ``k`` positions, and the mask ``left (C, R)``
    of those positions (everything after them is dead and must be marked so by the caller).
    """
    C, R = alive.shape
    q = torch.arange(R, device=alive.device).expand(C, R)
    left = q < alive.sum(1, keepdim=True)
    holes = left & ~alive
    movers = alive & ~left
    # mover positions, rightmost first
    movers_desc = torch.sort(torch.where(movers, -q, R), 1).values.neg_()
    hole_rank = (holes.cumsum(1) - 1).clamp_(min=0)
    return torch.where(holes, movers_desc.gather(1, hole_rank), q), left


# rows of the packed (C, 7, M) table
_X1, _Y1, _X2, _Y2, _AREA, _SCORE, _INDEX = range(7)
_REPACK_EVERY = 8


def _soft_nms_packed(data: Tensor, iou_threshold: float, sigma: float, min_score: float,
                     method: str) -> Tuple[Tensor, Tensor]:
    """Soft-NMS on a ``(C, 7, M)`` table (one row per class, columns in mmcv's array order).

    Padding columns have score ``-inf``.  The table is kept in mmcv's array order and shrinks as
    boxes are picked; classes with no boxes left are dropped every few steps.  Returns the picks as
    ``(scores, input indices)`` in step-major order (step 0 of every class first).
    """
    ninf = -math.inf
    out_score, out_index = [], []
    d = data
    step = 0
    while d.size(0) and d.size(2):
        C = d.size(0)
        sc = d[:, _SCORE]
        val, m = sc.max(1, keepdim=True)  # first maximum in array order, like mmcv
        m3 = m[:, None, :].expand(C, 7, 1)
        pick = d.gather(2, m3)  # (C, 7, 1)
        out_score.append(val[:, 0])
        out_index.append(pick[:, _INDEX, 0])
        d.scatter_(2, m3, d[:, :, :1].clone())  # the box at position 0 takes the pick's place
        d = d[:, :, 1:]
        if d.size(2) == 0:
            break
        ious = _iou_with(pick, d)
        w = _iou_to_weight(ious, method, iou_threshold, sigma)
        sc = d[:, _SCORE]
        was_alive = sc > ninf
        new = sc * w
        alive = new >= min_score  # NaN (-inf * 0 in 'naive') is never alive
        sc.copy_(torch.where(alive, new, ninf))
        if bool((was_alive & ~alive).any()):
            src, left = _compact_src(alive)
            d.copy_(d.gather(2, src[:, None, :].expand_as(d)))
            d[:, _SCORE].masked_fill_(~left, ninf)
        step += 1
        if step % _REPACK_EVERY == 0:
            n = (d[:, _SCORE] > ninf).sum(1)
            rows = (n > 0).nonzero()[:, 0]
            width = int(n.max()) if rows.numel() else 0
            d = d[rows, :, :width].contiguous()
    if not out_score:
        return data.new_zeros(0), data.new_zeros(0)
    return torch.cat(out_score), torch.cat(out_index)


def _iou_with(pick: Tensor, d: Tensor) -> Tensor:
    """IoU of each class's pick ``(C, 7, 1)`` with its remaining boxes ``(C, 7, R)``."""
    w = (torch.minimum(d[:, _X2], pick[:, _X2]) - torch.maximum(d[:, _X1], pick[:, _X1])).clamp_(
        min=0)
    h = (torch.minimum(d[:, _Y2], pick[:, _Y2]) - torch.maximum(d[:, _Y1], pick[:, _Y1])).clamp_(
        min=0)
    inter = w.mul_(h)
    union = pick[:, _AREA] + d[:, _AREA] - inter
    iou = inter.div_(union)
    return iou.masked_fill_(~(union > 0), 0)


def _soft_nms_torch(boxes: Tensor, scores: Tensor, labels: Tensor, iou_threshold: float,
                    sigma: float, min_score: float, method: str) -> Tuple[Tensor, Tensor]:
    """The ``'torch'`` backend on finite ``boxes (N, 4)``, ``scores (N,)``, ``labels (N,)`` (N > 0).

    Returns the picks as ``(scores, indices into the N inputs)`` in step-major order (step 0 of
    every class first, classes in label order within a step).
    """
    dev, n = boxes.device, boxes.size(0)
    work_dtype = torch.float64 if boxes.dtype == torch.float64 or n >= (1 << 24) \
        else torch.float32  # input indices ride in the table and must stay exact
    b = boxes.to(work_dtype)
    lab = labels.long()
    # one row per class, the class's boxes in input order (mmcv's initial array order)
    order = torch.sort(lab, stable=True).indices
    uniq, inv, counts = torch.unique(lab[order], return_inverse=True, return_counts=True)
    C, M = uniq.numel(), int(counts.max())
    col = torch.arange(n, device=dev) - (torch.cumsum(counts, 0) - counts)[inv]
    b = b[order]
    table = torch.zeros((C, M, 7), dtype=work_dtype, device=dev)
    table[..., _SCORE] = -math.inf
    table[inv, col] = torch.cat([
        b, ((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))[:, None],
        scores[order].to(work_dtype)[:, None], order.to(work_dtype)[:, None]], 1)
    out_scores, keep = _soft_nms_packed(table.transpose(1, 2).contiguous(), iou_threshold, sigma,
                                        min_score, method)
    valid = out_scores > -math.inf
    return out_scores[valid], keep[valid].long()


def _soft_nms_mmcv(boxes: Tensor, scores: Tensor, labels: Tensor, iou_threshold: float,
                   sigma: float, min_score: float, method: str) -> Tuple[Tensor, Tensor]:
    """The ``'mmcv'`` backend: same contract as :func:`_soft_nms_torch`, results on the input's
    device (the kernel itself runs on the CPU)."""
    dev, n = boxes.device, boxes.size(0)
    b = boxes.detach().to('cpu', torch.float32)
    s = scores.detach().to('cpu', torch.float32)
    lab = labels.detach().to('cpu', torch.long)
    degenerate = (b[:, 2] <= b[:, 0]) | (b[:, 3] <= b[:, 1])
    if bool(degenerate.any()):
        b = torch.where(degenerate[:, None], b.new_tensor(_DEGENERATE_STAND_IN), b)
    # group by class once: stable sort keeps each class's boxes in input order (mmcv's order)
    lab_sorted, order = torch.sort(lab, stable=True)
    counts = torch.unique_consecutive(lab_sorted, return_counts=True)[1]
    b = b[order]
    s = s[order]
    dets = torch.empty((n, 5), dtype=torch.float32)
    dets[:, 4] = s  # a one-box class keeps its box with its own score: no kernel call
    method_code = _MMCV_METHOD_CODE[method]
    counts_list = counts.tolist()
    one = torch.zeros(1, dtype=torch.long)
    local, kept = [], []
    for c, bc, sc, dc in zip(counts_list, b.split(counts_list), s.split(counts_list),
                             dets.split(counts_list)):
        if c == 1:
            local.append(one)
            kept.append(1)
            continue
        # fills dc[:k] with the picks (boxes, decayed scores) and returns their local indices
        inds = _ext.softnms(bc, sc, dc, iou_threshold, sigma, min_score, method_code, 0)
        local.append(inds)
        kept.append(inds.size(0))
    kept_t = torch.tensor(kept, dtype=torch.long)
    starts = torch.cumsum(counts, 0) - counts  # each class's first row in sorted order
    out_starts = torch.cumsum(kept_t, 0) - kept_t
    k = int(out_starts[-1] + kept_t[-1])
    step = torch.arange(k) - out_starts.repeat_interleave(kept_t)
    row = starts.repeat_interleave(kept_t)
    keep = order[row + torch.cat(local)]
    out_scores = dets[:, 4][row + step]
    # class-major -> step-major (stable: classes stay in label order within a step)
    o = torch.sort(step, stable=True).indices
    return out_scores[o].to(dev), keep[o].to(dev)


def batched_soft_nms(boxes: Tensor,
                     scores: Tensor,
                     labels: Tensor,
                     iou_threshold: float = 0.3,
                     sigma: float = 0.5,
                     min_score: float = 1e-3,
                     method: str = 'linear',
                     max_num: int = -1,
                     backend: str = 'auto') -> Tuple[Tensor, Tensor]:
    """Class-aware soft-NMS, each class on its own (SNIP §6.1 merge step).

    Args:
        boxes (Tensor): ``(N, 4)`` xyxy boxes.
        scores (Tensor): ``(N,)`` scores.
        labels (Tensor): ``(N,)`` integer class labels; boxes of different labels never interact.
        iou_threshold (float): in [0, 1]; IoU at or above which 'linear'/'naive' decay a box.
        sigma (float): > 0, the Gaussian width.
        min_score (float): boxes whose decayed score falls below it are dropped.
        method (str): 'linear', 'gaussian' or 'naive' (hard NMS through the soft-NMS loop),
            the values ``mmcv.ops.soft_nms`` accepts.
        max_num (int): keep at most this many after merging; <= 0 keeps all.
        backend (str): 'auto' ('mmcv' for CPU tensors, 'torch' otherwise), 'mmcv' (mmcv's CPU
            kernel per class; other devices are copied to the CPU and back) or 'torch' (the
            vectorised all-classes-at-once loop, any device).  Same results up to float rounding.

    Returns:
        tuple: ``dets (K, 5)`` = boxes and decayed scores sorted by score (descending), and
        ``keep (K,)`` long indices into the input, like ``mmcv.ops.batched_nms``.  Per class the
        kept set and scores equal ``mmcv.ops.soft_nms`` on that class (see the module docstring).
    """
    _validate(iou_threshold, sigma, min_score, method, max_num)
    if backend not in SOFT_NMS_BACKENDS:
        raise ValueError(f'backend must be one of {SOFT_NMS_BACKENDS}; got {backend!r}')
    if boxes.dim() != 2 or boxes.size(-1) != 4:
        raise ValueError(f'boxes must have shape (N, 4); got {tuple(boxes.shape)}')
    n = boxes.size(0)
    if scores.shape != (n,) or labels.shape != (n,):
        raise ValueError(f'scores and labels must have shape ({n},); got {tuple(scores.shape)} '
                         f'and {tuple(labels.shape)}')
    dev = boxes.device
    out_dtype = boxes.dtype if boxes.is_floating_point() else torch.float32

    idx = None
    finite = torch.isfinite(boxes).all(1) & torch.isfinite(scores)
    if not bool(finite.all()):
        warnings.warn(f'batched_soft_nms: dropping {int((~finite).sum())} of {n} detections '
                      'with NaN/inf boxes or scores')
        idx = finite.nonzero()[:, 0]
        boxes_f, scores_f, labels_f = boxes[idx], scores[idx], labels[idx]
    else:
        boxes_f, scores_f, labels_f = boxes, scores, labels
    if boxes_f.size(0) == 0:
        return boxes.new_zeros((0, 5), dtype=out_dtype), torch.zeros(0, dtype=torch.long,
                                                                     device=dev)
    if backend == 'auto':
        backend = 'mmcv' if dev.type == 'cpu' else 'torch'
    run = _soft_nms_mmcv if backend == 'mmcv' else _soft_nms_torch
    out_scores, keep = run(boxes_f, scores_f, labels_f, float(iou_threshold), float(sigma),
                           float(min_score), method)
    if idx is not None:
        keep = idx[keep]
    # stable sort: equal scores stay in (pick step, label) order
    out_scores, o = torch.sort(out_scores, descending=True, stable=True)
    keep = keep[o]
    if max_num > 0:
        keep, out_scores = keep[:max_num], out_scores[:max_num]
    dets = torch.cat([boxes[keep].to(out_dtype), out_scores.to(out_dtype)[:, None]], 1)
    return dets, keep
