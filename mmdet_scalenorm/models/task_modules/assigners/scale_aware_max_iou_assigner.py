"""``ScaleAwareMaxIoUAssigner``: MaxIoU assignment that ignores priors overlapping invalid GT.

Rule 1 (SNIP §6.1, kept by SNIPER and ISN §3.3.1): all *valid* ground truth boxes assign labels
as usual, then "those anchors which have an overlap greater than 0.3 with an invalid ground truth
box are excluded during training". The SNIPER reference code applies it to positives too, and so
do we: every prior whose IoU (not IoF) with any ignored GT box is strictly greater than
``invalid_iou_thr`` becomes *ignore* (``gt_inds = -1``, ``labels = -1``, ``max_overlaps = -1``,
the same marking mmdet's own ``ignore_iof_thr`` gives an ignored prior).

Rule 2 (optional, ``invalid_iof_thr``): rule 1 cannot fire for an invalid GT much smaller than
the smallest prior (a ``s`` px GT inside a 32 px anchor has IoU ``s**2 / 32**2 <= 0.3`` for
``s < 17.5``), so below ISN's lower bound of 16 px every prior on such an object would be trained
as background, whereas invalid objects should "constitute the ignored regions that don't
contribute to training" (ISN §3.3.1; SNIP §6.1 excludes them likewise). Rule 2 ignores every
would-be *negative* prior of scale ``sqrt(w*h) <= small_prior_max_scale`` that *contains* an
ignored GT: ``area(prior & gt) / area(gt) > invalid_iof_thr``.

The ignored GT are ``gt_instances_ignore``, which ``PackDetInputs`` fills with every GT whose
``gt_ignore_flags`` is set: the out-of-range GT marked by ``MarkValidRange`` *and* crowd boxes.
"""
from typing import Optional

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet.models.task_modules.assigners import AssignResult, MaxIoUAssigner
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import get_box_tensor

from mmdet_scalenorm.scale import box_scale

__all__ = ['ScaleAwareMaxIoUAssigner']

# Relative slack on ``small_prior_max_scale``: float32 anchor coordinates put the nominal 64 px
# anchors of an FPN grid (ratios 0.5 / 2) anywhere in 63.99998 .. 64.00007 px.
SCALE_RTOL = 1e-4


def _is_number(v) -> bool:
    return not isinstance(v, bool) and isinstance(v, (int, float))


@TASK_UTILS.register_module()
class ScaleAwareMaxIoUAssigner(MaxIoUAssigner):
    """:class:`MaxIoUAssigner` that also ignores priors with IoU > ``invalid_iou_thr`` to an
    ignored (invalid or crowd) GT box (SNIP §6.1) and, optionally, small would-be negative priors
    that contain an ignored GT (IoF > ``invalid_iof_thr``).

    Without ignored GT (``gt_instances_ignore`` is None or empty) the result is exactly
    :class:`MaxIoUAssigner`'s. ``gt_instances_ignore`` is still handed to the parent, so
    ``ignore_iof_thr`` keeps its mmdet meaning on top of these rules.

    Args:
        invalid_iou_thr (float): rule 1 (SNIP §6.1): a prior whose IoU with any ignored GT box is
            strictly greater than this is ignored, positives included. In ``[0, 1]``; default
            0.3.
        invalid_iof_thr (float, optional): rule 2: a prior with ``gt_inds == 0`` (a would-be
            negative) whose scale ``sqrt(w*h)`` (:func:`mmdet_scalenorm.scale.box_scale`) is
            ``<= small_prior_max_scale`` and whose intersection with some ignored GT box is
            strictly more than this fraction of *that GT's* area is ignored instead of trained as
            background. Only negatives change: a prior positive for a valid GT stays positive,
            and one already ignored stays ignored. ``None`` (default) switches the rule off and
            the result equals rule 1 alone exactly; otherwise in ``[0, 1]`` (e.g. 0.5).
        small_prior_max_scale (float): largest prior scale, in pixels of the current image,
            that rule 2 applies to (> 0, may be ``inf``; default 64), compared with a relative
            slack of ``SCALE_RTOL`` (1e-4) so that every nominal 64 px anchor counts despite
            float32 rounding. A large prior that merely contains a tiny object is a correct
            background sample at its own scale.
        chunk_size (int): upper bound on ``num_priors_in_chunk * num_ignored_gt`` pairs whose
            IoU / IoF is held in memory at once (default 2**22, a few tens of MB of temporaries).
        **kwargs: everything :class:`MaxIoUAssigner` takes (``pos_iou_thr``, ``neg_iou_thr``,
            ``gpu_assign_thr`` ...).

    Both rules serve RPN (anchors) and R-CNN (proposals) alike. Device: the extra overlaps run
    where the parent's assignment ran: on CPU when ``gpu_assign_thr`` is positive and the number
    of GT (or of ignored GT) exceeds it, else on the priors' device; the result is returned on the
    priors' device as the parent does.
    """

    #: rule 2 computes every pair at once (no x1 sort) up to this many (prior, GT) pairs
    dense_pairs = 2**16

    def __init__(self,
                 *args,
                 invalid_iou_thr: float = 0.3,
                 invalid_iof_thr: Optional[float] = None,
                 small_prior_max_scale: float = 64,
                 chunk_size: int = 2**22,
                 **kwargs):
        if not _is_number(invalid_iou_thr) or not 0 <= invalid_iou_thr <= 1:
            raise ValueError('invalid_iou_thr must be a number with 0 <= invalid_iou_thr <= 1; '
                             f'got {invalid_iou_thr!r}')
        if invalid_iof_thr is not None and (not _is_number(invalid_iof_thr)
                                            or not 0 <= invalid_iof_thr <= 1):
            raise ValueError('invalid_iof_thr must be None (rule off) or a number with '
                             f'0 <= invalid_iof_thr <= 1; got {invalid_iof_thr!r}')
        if not _is_number(small_prior_max_scale) or not small_prior_max_scale > 0:
            raise ValueError('small_prior_max_scale must be a number > 0 (float("inf") allowed); '
                             f'got {small_prior_max_scale!r}')
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f'chunk_size must be a positive int; got {chunk_size!r}')
        super().__init__(*args, **kwargs)
        self.invalid_iou_thr = float(invalid_iou_thr)
        self.invalid_iof_thr = None if invalid_iof_thr is None else float(invalid_iof_thr)
        self.small_prior_max_scale = float(small_prior_max_scale)
        self.chunk_size = chunk_size

    def assign(self,
               pred_instances: InstanceData,
               gt_instances: InstanceData,
               gt_instances_ignore: Optional[InstanceData] = None,
               **kwargs) -> AssignResult:
        """Assign as :meth:`MaxIoUAssigner.assign`, then ignore priors overlapping ignored GT
        (rule 1) and small negative priors containing one (rule 2, when configured)."""
        assign_result = super().assign(pred_instances, gt_instances, gt_instances_ignore,
                                       **kwargs)
        if gt_instances_ignore is None or 'bboxes' not in gt_instances_ignore:
            return assign_result
        ignored = get_box_tensor(gt_instances_ignore.bboxes)
        priors = get_box_tensor(pred_instances.priors)
        if ignored.numel() == 0 or priors.numel() == 0:
            return assign_result

        device = assign_result.gt_inds.device
        if self.gpu_assign_thr > 0 and (gt_instances.bboxes.shape[0] > self.gpu_assign_thr
                                        or ignored.shape[0] > self.gpu_assign_thr):
            priors, ignored = priors.cpu(), ignored.cpu()
        else:
            ignored = ignored.to(priors.device)
        hit = self.overlaps_invalid(priors, ignored).to(device)
        if self.invalid_iof_thr is not None:
            negative = ((assign_result.gt_inds == 0) & ~hit).to(priors.device)
            hit |= self.contains_invalid(priors, ignored, negative).to(device)

        assign_result.gt_inds.masked_fill_(hit, -1)
        if assign_result.labels is not None:
            assign_result.labels.masked_fill_(hit, -1)
        assign_result.max_overlaps.masked_fill_(hit, -1)
        return assign_result

    def overlaps_invalid(self, priors: Tensor, ignored: Tensor) -> Tensor:
        """Bool mask (num_priors,): IoU with some ``ignored`` box > ``invalid_iou_thr``.

        The IoU is the assigner's own ``iou_calculator`` in mode ``'iou'``, computed over chunks
        of priors so ``num_priors x num_ignored`` is never materialised at once. It is computed
        only for the priors that pass an exact necessary condition (:meth:`_area_candidates`), so
        ISN's typical ignored GT (tiny or huge) cost little more than one pass over the priors.
        """
        num_priors = priors.shape[0]
        hit = priors.new_zeros((num_priors, ), dtype=torch.bool)
        ignored = self._positive_area(ignored)
        if ignored.shape[0] == 0:
            return hit
        step = max(1, self.chunk_size // ignored.shape[0])
        cand = self._area_candidates(priors, ignored).nonzero().squeeze(1)
        if cand.numel() > num_priors // 2:  # gathering would cost more than it saves
            for start in range(0, num_priors, step):
                iou = self.iou_calculator(priors[start:start + step], ignored, mode='iou')
                hit[start:start + step] = (iou > self.invalid_iou_thr).any(dim=1)
            return hit
        for start in range(0, cand.numel(), step):
            idx = cand[start:start + step]
            iou = self.iou_calculator(priors[idx], ignored, mode='iou')
            hit[idx] = (iou > self.invalid_iou_thr).any(dim=1)
        return hit

    def contains_invalid(self, priors: Tensor, ignored: Tensor,
                         eligible: Optional[Tensor] = None) -> Tensor:
        """Bool mask (num_priors,) of rule 2: ``eligible`` (default: all) priors of scale
        ``<= small_prior_max_scale`` whose intersection with some ``ignored`` box is more than
        ``invalid_iof_thr`` of that box's area (none when ``invalid_iof_thr`` is None).

        The IoF is the assigner's ``iou_calculator(ignored, priors, mode='iof')`` (mmdet divides
        by the area of the *first* argument, here the ignored GT). Exact prefilters: ``inter <=
        area_prior``, so a pair can only qualify when ``t * area_gt < area_prior`` (widened by 1%
        against rounding); and a prior only meets a GT when its ``x1`` lies in ``(gt.x1 -
        max_prior_width, gt.x2)``, a window of the priors sorted by ``x1`` (widened against
        rounding), so only those (prior, GT) pairs are computed, ``chunk_size`` pairs at a time.
        When the windows hold more than half of all pairs, or there are at most ``dense_pairs``
        pairs in all (sorting would cost more than it saves), every pair is computed, in chunks.
        """
        t = self.invalid_iof_thr
        hit = priors.new_zeros((priors.shape[0], ), dtype=torch.bool)
        if t is None or t >= 1:  # rule off; IoF <= 1 is never strictly above 1
            return hit
        ignored = self._positive_area(ignored)
        if ignored.shape[0] == 0:
            return hit
        # NaN scales compare False; a zero-area prior has zero intersection with everything.
        scale = box_scale(priors)
        area = scale * scale
        cand = (scale <= self.small_prior_max_scale * (1 + SCALE_RTOL)) & (scale > 0)
        if eligible is not None:
            cand &= eligible
        gt_area = (ignored[:, 2] - ignored[:, 0]) * (ignored[:, 3] - ignored[:, 1])
        cand &= area * 1.01 > t * gt_area.min()
        cand_idx = cand.nonzero().squeeze(1)
        num_cand = cand_idx.numel()
        if num_cand == 0:
            return hit
        ignored = ignored[gt_area * t < torch.where(cand, area, 0).max() * 1.01]
        if ignored.shape[0] == 0:
            return hit
        if num_cand * ignored.shape[0] <= self.dense_pairs:
            return self._contains_dense(priors, ignored, cand_idx, hit)
        # candidates first, sorted by x1 (the others pushed to the end as +inf)
        x1, order = torch.where(cand, priors[:, 0], float('inf')).sort()
        x1, order = x1[:num_cand].contiguous(), order[:num_cand]
        max_w = torch.where(cand, priors[:, 2] - priors[:, 0], float('-inf')).max()
        slack = (ignored[:, 0].abs() + max_w) * 1e-3 + 1
        lo = torch.searchsorted(x1, (ignored[:, 0] - max_w - slack).contiguous(), right=True)
        hi = torch.searchsorted(x1, ignored[:, 2].contiguous(), right=False)
        counts = (hi - lo).clamp(min=0)
        ends = counts.cumsum(0)
        num_pairs = int(ends[-1])
        if 2 * num_pairs > num_cand * ignored.shape[0]:  # windows save little: all pairs
            return self._contains_dense(priors, ignored, order, hit)
        for start in range(0, num_pairs, self.chunk_size):
            k = torch.arange(start, min(start + self.chunk_size, num_pairs), device=x1.device)
            g = torch.searchsorted(ends, k, right=True)  # pair k belongs to ignored GT g
            p = order[k - (ends[g] - counts[g]) + lo[g]]
            iof = self.iou_calculator(ignored[g], priors[p], mode='iof', is_aligned=True)
            hit[p[iof > t]] = True
        return hit

    def _contains_dense(self, priors: Tensor, ignored: Tensor, cand: Tensor,
                        hit: Tensor) -> Tensor:
        """Rule 2 on every (``cand`` prior, ignored GT) pair, ``chunk_size`` pairs at a time."""
        step = max(1, self.chunk_size // ignored.shape[0])
        for start in range(0, cand.numel(), step):
            idx = cand[start:start + step]
            iof = self.iou_calculator(ignored, priors[idx], mode='iof')
            hit[idx] = (iof > self.invalid_iof_thr).any(dim=0)
        return hit

    @staticmethod
    def _positive_area(ignored: Tensor) -> Tensor:
        # A box with a non-positive side (or NaN) has zero overlap with everything
        # (bbox_overlaps clamps the intersection at 0), so it never exceeds a threshold >= 0.
        iw, ih = ignored[:, 2] - ignored[:, 0], ignored[:, 3] - ignored[:, 1]
        return ignored[(iw > 0) & (ih > 0)]

    def _area_candidates(self, priors: Tensor, ignored: Tensor) -> Tensor:
        """Priors that may have IoU > thr with some (positive-area) ignored box.

        IoU(p, g) <= min(area_p, area_g) / max(area_p, area_g), so IoU > t > 0 needs some ignored
        area in ``(t * area_p, area_p / t)``; the window is widened by 1% against rounding.
        Priors with a non-positive side or NaN stay candidates (their IoU is left to the exact
        computation).
        """
        t = self.invalid_iou_thr
        pw, ph = priors[:, 2] - priors[:, 0], priors[:, 3] - priors[:, 1]
        regular = (pw > 0) & (ph > 0)
        if t <= 0:
            return torch.ones_like(regular)
        area = (pw * ph).float()
        areas = ((ignored[:, 2] - ignored[:, 0]) * (ignored[:, 3] - ignored[:, 1])).float()
        areas = areas.sort().values.contiguous()
        first = torch.searchsorted(areas, area * (t / 1.01), right=False)  # first >= low end
        last = torch.searchsorted(areas, area * (1.01 / t), right=True)  # first > high end
        return (first < last) | ~regular
