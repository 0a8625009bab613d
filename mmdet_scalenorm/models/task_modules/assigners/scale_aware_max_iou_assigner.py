"""``ScaleAwareMaxIoUAssigner``: MaxIoU assignment that ignores priors overlapping invalid GT.

Rule (SNIP §6.1, kept by SNIPER and ISN §3.3.1): all *valid* ground truth boxes assign labels as
usual, then "those anchors which have an overlap greater than 0.3 with an invalid ground truth box
are excluded during training". The SNIPER reference code applies it to positives too, and so do we:
every prior whose IoU (not IoF) with any ignored GT box is strictly greater than
``invalid_iou_thr`` becomes *ignore* (``gt_inds = -1``, ``labels = -1``, ``max_overlaps = -1``,
the same marking mmdet's own ``ignore_iof_thr`` gives an ignored prior).

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

__all__ = ['ScaleAwareMaxIoUAssigner']


@TASK_UTILS.register_module()
class ScaleAwareMaxIoUAssigner(MaxIoUAssigner):
    """:class:`MaxIoUAssigner` that also ignores priors with IoU > ``invalid_iou_thr`` to an
    ignored (invalid or crowd) GT box (SNIP §6.1).

    Without ignored GT (``gt_instances_ignore`` is None or empty) the result is exactly
    :class:`MaxIoUAssigner`'s. ``gt_instances_ignore`` is still handed to the parent, so
    ``ignore_iof_thr`` keeps its mmdet meaning on top of this rule.

    Args:
        invalid_iou_thr (float): a prior whose IoU with any ignored GT box is strictly greater
            than this is ignored, positives included. In ``[0, 1]``; default 0.3 (SNIP §6.1).
        chunk_size (int): upper bound on ``num_priors_in_chunk * num_ignored_gt`` pairs whose
            IoU is held in memory at once (default 2**22, a few tens of MB of temporaries).
        **kwargs: everything :class:`MaxIoUAssigner` takes (``pos_iou_thr``, ``neg_iou_thr``,
            ``gpu_assign_thr`` ...).

    Device: the extra IoU runs where the parent's assignment ran: on CPU when ``gpu_assign_thr``
    is positive and the number of GT (or of ignored GT) exceeds it, else on the priors' device;
    the result is returned on the priors' device as the parent does.
    """

    def __init__(self, *args, invalid_iou_thr: float = 0.3, chunk_size: int = 2**22, **kwargs):
        if (isinstance(invalid_iou_thr, bool) or not isinstance(invalid_iou_thr, (int, float))
                or not 0 <= invalid_iou_thr <= 1):
            raise ValueError('invalid_iou_thr must be a number with 0 <= invalid_iou_thr <= 1; '
                             f'got {invalid_iou_thr!r}')
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f'chunk_size must be a positive int; got {chunk_size!r}')
        super().__init__(*args, **kwargs)
        self.invalid_iou_thr = float(invalid_iou_thr)
        self.chunk_size = chunk_size

    def assign(self,
               pred_instances: InstanceData,
               gt_instances: InstanceData,
               gt_instances_ignore: Optional[InstanceData] = None,
               **kwargs) -> AssignResult:
        """Assign as :meth:`MaxIoUAssigner.assign`, then ignore priors overlapping ignored GT."""
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
        # A box with a non-positive side (or NaN) has zero IoU with everything (bbox_overlaps
        # clamps the intersection at 0), so it can never exceed a threshold >= 0.
        iw, ih = ignored[:, 2] - ignored[:, 0], ignored[:, 3] - ignored[:, 1]
        ignored = ignored[(iw > 0) & (ih > 0)]
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
