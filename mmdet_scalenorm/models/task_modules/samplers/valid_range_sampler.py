"""``ValidRangeSampler``: R-CNN proposal sampling restricted to a scale range.

Rule (SNIP §6.1): "We do not select proposals and ground truth boxes which are outside a specified
size range at a particular resolution during training." A proposal is selectable (as a positive
or as a negative) only when its scale ``sqrt(w*h)``, in pixels of the current (resized) image,
lies in the closed range ``valid_range`` (``mmdet_scalenorm.scale.in_range``). The proposals
still *receive* their labels from every valid GT; only the choice of RoIs is restricted.

GT added as proposals (``add_gt_as_proposals=True``): invalid GT never are, because
``PackDetInputs`` moves them to ``ignored_instances`` and the sampler only sees ``gt_instances``.
A *valid* GT can still fall outside the sampler's range, e.g. a box that ``SampleChip`` clipped
below ``lo`` while keeping it valid (>= ``min_overlap`` inside), or a sampler range configured
differently from ``MarkValidRange``'s. Such a GT keeps assigning labels to proposals but is, like
any other proposal outside the range, never sampled as a RoI itself.

This is the proposal rule, not the GT rule (:func:`mmdet_scalenorm.scale.valid_gt_mask`, applied by
``MarkValidRange``): it is ``box_scale`` + ``in_range`` only, computed in float64 like the GT rule;
a NaN proposal is never in range, a degenerate one has scale 0 (in range only when ``lo == 0``).
The range needs no conversion (``range_in_pixels``): it is already in pixels of the current image
(``MarkValidRange`` writes ``valid_range`` after converting it).

With an unbounded range ``(0, inf)`` the sampler is :class:`RandomSampler` call for call (same
torch seed, same indices, same :class:`SamplingResult`); with a bounded range it draws from the
same generator, over the in-range candidates only.
"""
from typing import Union

from mmengine.structures import InstanceData
from numpy import ndarray
from torch import Tensor

from mmdet.models.task_modules.assigners import AssignResult
from mmdet.models.task_modules.samplers import RandomSampler, SamplingResult
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import get_box_tensor

from mmdet_scalenorm.scale import UNBOUNDED, box_scale, in_range, is_unbounded, parse_range

__all__ = ['ValidRangeSampler']


@TASK_UTILS.register_module()
class ValidRangeSampler(RandomSampler):
    """:class:`RandomSampler` that never samples a proposal whose scale is outside a range.

    Args:
        num, pos_fraction, neg_pos_ub, add_gt_as_proposals: as :class:`RandomSampler`.
        valid_range (tuple, optional): ``(lo, hi)`` closed range of ``sqrt(w*h)`` in pixels of
            the current (resized) image, ``0 <= lo <= hi``, ``hi`` may be ``inf``. :meth:`sample`
            can override it per call (``ScaleNormRoIHead`` passes the image's ``valid_range``
            metainfo written by ``MarkValidRange``). Default None: no restriction of its own
            (:class:`RandomSampler` exactly), and ``range_configured`` is False, so
            ``ScaleNormRoIHead`` requires the range from each image's metainfo; ``(0, 'inf')``
            switches the rule off explicitly.
    """

    def __init__(self,
                 num: int,
                 pos_fraction: float,
                 neg_pos_ub: int = -1,
                 add_gt_as_proposals: bool = True,
                 valid_range=None,
                 **kwargs):
        super().__init__(num=num, pos_fraction=pos_fraction, neg_pos_ub=neg_pos_ub,
                         add_gt_as_proposals=add_gt_as_proposals, **kwargs)
        #: whether a range was configured (else the range must come with each image)
        self.range_configured = valid_range is not None
        self.valid_range = parse_range(UNBOUNDED if valid_range is None else valid_range,
                                       'valid_range')

    def sample(self,
               assign_result: AssignResult,
               pred_instances: InstanceData,
               gt_instances: InstanceData,
               valid_range=None,
               **kwargs) -> SamplingResult:
        """:meth:`BaseSampler.sample` over in-range proposals only.

        Args:
            valid_range (tuple, optional): range for this call, in pixels of this image; None
                uses the configured ``valid_range``.
        """
        rng = self.valid_range if valid_range is None else parse_range(valid_range, 'valid_range')
        if is_unbounded(rng):
            return super().sample(assign_result, pred_instances, gt_instances, **kwargs)
        # BaseSampler.sample forwards kwargs, with the (gt + proposal) boxes as ``bboxes``, to
        # _sample_pos / _sample_neg, where the candidates are filtered.
        return super().sample(assign_result, pred_instances, gt_instances,
                              scale_range=rng, **kwargs)

    @staticmethod
    def _restricted(assign_result: AssignResult, bboxes, scale_range) -> AssignResult:
        """A view of ``assign_result`` where out-of-range candidates are marked ignore (-1)."""
        if scale_range is None or bboxes is None:
            return assign_result
        # float64, as valid_gt_mask: a GT added as a proposal exactly on an edge of the range
        # gets the same answer here as in MarkValidRange
        scales = box_scale(get_box_tensor(bboxes).double())
        out = ~in_range(scales, *scale_range)
        if not bool(out.any()):
            return assign_result
        gt_inds = assign_result.gt_inds.clone()
        gt_inds[out.to(gt_inds.device)] = -1
        return AssignResult(assign_result.num_gts, gt_inds, assign_result.max_overlaps,
                            assign_result.labels)

    def _sample_pos(self, assign_result: AssignResult, num_expected: int,
                    bboxes=None, scale_range=None, **kwargs) -> Union[Tensor, ndarray]:
        """:meth:`RandomSampler._sample_pos` over the in-range positives."""
        return super()._sample_pos(self._restricted(assign_result, bboxes, scale_range),
                                   num_expected, bboxes=bboxes, **kwargs)

    def _sample_neg(self, assign_result: AssignResult, num_expected: int,
                    bboxes=None, scale_range=None, **kwargs) -> Union[Tensor, ndarray]:
        """:meth:`RandomSampler._sample_neg` over the in-range negatives."""
        return super()._sample_neg(self._restricted(assign_result, bboxes, scale_range),
                                   num_expected, bboxes=bboxes, **kwargs)
