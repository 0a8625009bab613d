"""``ScaleNormRoIHead``: StandardRoIHead whose proposal sampling follows each image's valid range.

Rule (SNIP §6.1, ISN §3.3.1): at a given resolution the R-CNN head does not select proposals
outside that resolution's valid range. ``MarkValidRange`` writes the range in pixels of the current
image as ``valid_range`` metainfo (SNIP: a different range per pyramid scale; ISN: one range);
this head passes it to the sampler (``ValidRangeSampler``) image by image. Images without the key
use the sampler's configured range; samplers without a ``valid_range`` argument are called exactly
as :class:`StandardRoIHead` calls them.

No silent switch-off: when the sampler takes a range but has none configured
(``ValidRangeSampler().range_configured`` is False) and an image comes without ``valid_range``
metainfo (e.g. a ``PackDetInputs`` whose ``meta_keys`` drop it), the R-CNN range rule would be off
without a word, so :meth:`loss` raises ``ValueError`` naming the key and the fixes
(``PackScaleNormInputs``, or a range on the sampler; ``(0, 'inf')`` turns the rule off on purpose).
"""
import inspect
from typing import List, Tuple

from torch import Tensor

from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.utils import unpack_gt_instances
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.utils import InstanceList

__all__ = ['ScaleNormRoIHead']


@MODELS.register_module()
class ScaleNormRoIHead(StandardRoIHead):
    """:class:`StandardRoIHead` that hands ``valid_range`` metainfo to the sampler (SNIP §6.1).

    Only :meth:`loss` changes. It is :meth:`StandardRoIHead.loss` with one extra keyword in the
    sampler call: mmdet offers no hook to pass per-image arguments to the sampler, so the short
    assign/sample loop is restated in :meth:`assign_and_sample`; the bbox and mask losses are the
    parent's own ``bbox_loss`` / ``mask_loss``.
    """

    def _sampler_takes_valid_range(self) -> bool:
        try:
            params = inspect.signature(self.bbox_sampler.sample).parameters
        except (TypeError, ValueError):
            return False
        return 'valid_range' in params

    def assign_and_sample(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
                          batch_data_samples: List[DetDataSample]) -> list:
        """Assign GT to each image's proposals and sample RoIs, passing ``valid_range``."""
        batch_gt_instances, batch_gt_instances_ignore, batch_img_metas = unpack_gt_instances(
            batch_data_samples)
        pass_range = self._sampler_takes_valid_range()
        sampling_results = []
        for i in range(len(batch_data_samples)):
            # rename rpn_results.bboxes to rpn_results.priors, as StandardRoIHead does
            rpn_results = rpn_results_list[i]
            rpn_results.priors = rpn_results.pop('bboxes')
            assign_result = self.bbox_assigner.assign(rpn_results, batch_gt_instances[i],
                                                      batch_gt_instances_ignore[i])
            extra = {}
            if pass_range:
                extra = dict(valid_range=batch_img_metas[i].get('valid_range'))
                if extra['valid_range'] is None and \
                        not getattr(self.bbox_sampler, 'range_configured', True):
                    raise ValueError(
                        f"ScaleNormRoIHead: image img_id={batch_img_metas[i].get('img_id')!r} "
                        "has no 'valid_range' metainfo and the R-CNN sampler "
                        f'({type(self.bbox_sampler).__name__}) has no valid_range configured, '
                        'so the R-CNN range rule would silently be off. Pack with '
                        "PackScaleNormInputs (or keep 'valid_range' in PackDetInputs' meta_keys) "
                        'after MarkValidRange, or set train_cfg.rcnn.sampler.valid_range=(lo, '
                        "hi); (0, 'inf') switches the rule off explicitly")
            sampling_results.append(
                self.bbox_sampler.sample(assign_result, rpn_results, batch_gt_instances[i],
                                         feats=[lvl_feat[i][None] for lvl_feat in x], **extra))
        return sampling_results

    def loss(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
             batch_data_samples: List[DetDataSample]) -> dict:
        """:meth:`StandardRoIHead.loss` with range-aware sampling."""
        assert len(rpn_results_list) == len(batch_data_samples)
        sampling_results = self.assign_and_sample(x, rpn_results_list, batch_data_samples)
        return self.loss_from_sampling(x, sampling_results, batch_data_samples)

    def loss_from_sampling(self, x: Tuple[Tensor], sampling_results: list,
                           batch_data_samples: List[DetDataSample]) -> dict:
        """The branch losses of :meth:`StandardRoIHead.loss` on already sampled RoIs (bbox, then
        mask on the bbox branch's features); a subclass adds its branches here."""
        losses = dict()
        if self.with_bbox:
            bbox_results = self.bbox_loss(x, sampling_results)
            losses.update(bbox_results['loss_bbox'])
        if self.with_mask:
            batch_gt_instances = [s.gt_instances for s in batch_data_samples]
            mask_results = self.mask_loss(x, sampling_results, bbox_results['bbox_feats'],
                                          batch_gt_instances)
            losses.update(mask_results['loss_mask'])
        return losses
