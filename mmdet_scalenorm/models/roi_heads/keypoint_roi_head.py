"""``KeypointRoIHead``: the R-CNN head with a keypoint branch next to the bbox and mask branches.

Rule (Mask R-CNN §3 keypoint detection; ISN §4.3.2): the keypoint branch is trained on the
positive RoIs the bbox branch sampled (with :class:`ScaleNormRoIHead`'s valid-range sampling), each
against the keypoints of its assigned GT (``gt_instances.keypoints`` (N, K, 3), the keypoint data
contract), and at test time runs on every detected box.  Keypoints leave the head as
``pred_instances.keypoints`` (N, K, 3) ``(x, y, score)``, in original-image pixels when
``rescale=True``, one row per ``pred_instances.bboxes`` row.

The bbox and mask branches are untouched: with ``keypoint_head=None`` this is
:class:`ScaleNormRoIHead`; with it, the same sampling results feed the bbox, mask and keypoint
losses.  At prediction the boxes stay in current-image pixels until the keypoints (and masks) are
computed, then are rescaled as mmdet rescales them (the mask head's rescale, or
``scale_boxes(bboxes, 1 / scale_factor)`` as the bbox head does).

Bad input is an error, not a silent skip: a training image whose ``gt_instances`` has no
``keypoints`` (a pipeline without ``LoadAnnotationsWithKeypoints`` / ``PackScaleNormInputs``), or
whose keypoint count differs from ``keypoint_head.num_keypoints``, raises ``ValueError`` naming the
image id.  Images without positive RoIs or without labelled keypoints train with a zero keypoint
loss that keeps the graph.
"""
from typing import List, Optional, Tuple

import torch
from torch import Tensor

from mmdet.registry import MODELS
from mmdet.structures import DetDataSample, SampleList
from mmdet.structures.bbox import bbox2roi, get_box_tensor, scale_boxes
from mmdet.utils import ConfigType, InstanceList, OptConfigType

from .scale_norm_roi_head import ScaleNormRoIHead

__all__ = ['KeypointRoIHead']


@MODELS.register_module()
class KeypointRoIHead(ScaleNormRoIHead):
    """:class:`ScaleNormRoIHead` plus a keypoint branch (like mmdet's mask branch).

    Args:
        keypoint_roi_extractor (dict, optional): RoI extractor of the keypoint branch (its own
            RoIAlign size, e.g. 14 for :class:`KeypointRCNNHead`, (22, 16) for
            :class:`ISNKeypointHead`). Required with ``keypoint_head``.
        keypoint_head (dict, optional): The keypoint head; ``None`` switches the branch off.
        **kwargs: :class:`ScaleNormRoIHead` / ``StandardRoIHead`` arguments.
    """

    def __init__(self, keypoint_roi_extractor: OptConfigType = None,
                 keypoint_head: OptConfigType = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if keypoint_head is not None:
            self.init_keypoint_head(keypoint_roi_extractor, keypoint_head)

    @property
    def with_keypoint(self) -> bool:
        """bool: whether the RoI head has a ``keypoint_head``."""
        return getattr(self, 'keypoint_head', None) is not None

    def init_keypoint_head(self, keypoint_roi_extractor: ConfigType,
                           keypoint_head: ConfigType) -> None:
        """Build the keypoint RoI extractor and head; their RoI sizes must agree."""
        if keypoint_roi_extractor is None:
            raise ValueError('KeypointRoIHead: keypoint_head needs a keypoint_roi_extractor '
                             '(e.g. SingleRoIExtractor with RoIAlign output_size=14 for '
                             'KeypointRCNNHead, (22, 16) for ISNKeypointHead)')
        self.keypoint_roi_extractor = MODELS.build(keypoint_roi_extractor)
        self.keypoint_head = MODELS.build(keypoint_head)
        layer = self.keypoint_roi_extractor.roi_layers[0]
        got = tuple(int(s) for s in getattr(layer, 'output_size', ()))
        want = tuple(getattr(self.keypoint_head, 'roi_feat_size', got))
        if got != want:
            raise ValueError(f'KeypointRoIHead: keypoint_roi_extractor gives {got} (H, W) RoI '
                             f'features but {type(self.keypoint_head).__name__} expects '
                             f'roi_feat_size={want}; set roi_layer.output_size={want}')

    def _keypoint_forward(self, x: Tuple[Tensor], rois: Tensor) -> dict:
        """Keypoint head on the RoI features of ``rois`` (n, 5)."""
        feats = self.keypoint_roi_extractor(x[:self.keypoint_roi_extractor.num_inputs], rois)
        return dict(keypoint_preds=self.keypoint_head(feats), keypoint_feats=feats)

    def _check_keypoint_gt(self, batch_data_samples: SampleList) -> None:
        k = self.keypoint_head.num_keypoints
        for sample in batch_data_samples:
            img_id = sample.metainfo.get('img_id')
            gt = sample.gt_instances
            if 'keypoints' not in gt:
                raise ValueError(
                    f'KeypointRoIHead: image img_id={img_id!r} has no gt_instances.keypoints but '
                    'the keypoint head is on; load them with LoadAnnotationsWithKeypoints and '
                    "pack with PackScaleNormInputs (mmdet's PackDetInputs drops them)")
            kps = gt.keypoints
            if kps.dim() != 3 or kps.shape[1:] != (k, 3):
                raise ValueError(
                    f'KeypointRoIHead: image img_id={img_id!r} has gt_instances.keypoints of '
                    f'shape {tuple(kps.shape)}, expected (num_gt, {k}, 3): keypoint_head.'
                    f"num_keypoints={k} must equal the dataset's len(keypoint_names)")

    def loss(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
             batch_data_samples: List[DetDataSample]) -> dict:
        """:meth:`ScaleNormRoIHead.loss` plus ``keypoint_loss`` on the same sampled RoIs (the
        keypoint GT is checked before any sampling)."""
        if self.with_keypoint:
            self._check_keypoint_gt(batch_data_samples)
        return super().loss(x, rpn_results_list, batch_data_samples)

    def loss_from_sampling(self, x: Tuple[Tensor], sampling_results: list,
                           batch_data_samples: List[DetDataSample]) -> dict:
        losses = super().loss_from_sampling(x, sampling_results, batch_data_samples)
        if self.with_keypoint:
            batch_gt_instances = [s.gt_instances for s in batch_data_samples]
            losses.update(self.keypoint_loss(x, sampling_results,
                                             batch_gt_instances)['loss_keypoint'])
        return losses

    def keypoint_loss(self, x: Tuple[Tensor], sampling_results: list,
                      batch_gt_instances: InstanceList) -> dict:
        """Keypoint head loss on the positive RoIs against their assigned GT's keypoints.

        Returns:
            dict: ``keypoint_preds``, ``keypoint_feats``, ``loss_keypoint`` (dict of losses) and
            ``keypoint_targets``.
        """
        pos_priors = [get_box_tensor(res.pos_priors) for res in sampling_results]
        pos_rois = bbox2roi(pos_priors)
        results = self._keypoint_forward(x, pos_rois)
        gt_kps = torch.cat([gt.keypoints[res.pos_assigned_gt_inds].to(pos_rois)
                            for gt, res in zip(batch_gt_instances, sampling_results)])
        results.update(self.keypoint_head.loss_and_target(
            results['keypoint_preds'], torch.cat(pos_priors), gt_kps))
        return results

    def predict(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
                batch_data_samples: SampleList, rescale: bool = False) -> InstanceList:
        """Parent's predictions plus ``keypoints`` (N, K, 3) for every detected box."""
        if not self.with_keypoint:
            return super().predict(x, rpn_results_list, batch_data_samples, rescale=rescale)
        assert self.with_bbox, 'Bbox head must be implemented.'
        batch_img_metas = [s.metainfo for s in batch_data_samples]
        # boxes stay in current-image pixels for the keypoint (and mask) RoIs
        results_list = self.predict_bbox(x, batch_img_metas, rpn_results_list,
                                         rcnn_test_cfg=self.test_cfg, rescale=False)
        results_list = self.predict_keypoint(x, batch_img_metas, results_list, rescale=rescale)
        if self.with_mask:  # rescales the boxes in place, as StandardRoIHead relies on
            results_list = self.predict_mask(x, batch_img_metas, results_list, rescale=rescale)
        elif rescale:
            for res, meta in zip(results_list, batch_img_metas):
                if res.bboxes.shape[0] > 0:
                    res.bboxes = scale_boxes(res.bboxes, [1 / s for s in meta['scale_factor']])
        return results_list

    def predict_keypoint(self, x: Tuple[Tensor], batch_img_metas: List[dict],
                         results_list: InstanceList, rescale: bool = False) -> InstanceList:
        """Set ``results.keypoints`` (N, K, 3) from the (current-image) ``results.bboxes``."""
        bboxes = [get_box_tensor(res.bboxes) for res in results_list]
        rois = bbox2roi(bboxes)
        preds: List[Optional[Tensor]] = [None] * len(results_list)
        if rois.shape[0] > 0:
            preds = list(self._keypoint_forward(x, rois)['keypoint_preds'].split(
                [len(b) for b in bboxes], 0))
        for res, p, b, meta in zip(results_list, preds, bboxes, batch_img_metas):
            if p is None:
                res.keypoints = b.new_zeros((0, self.keypoint_head.num_keypoints, 3))
            else:
                res.keypoints = self.keypoint_head.predict_by_feat(p, b, meta, rescale=rescale)
        return results_list

    def forward(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
                batch_data_samples: SampleList = None) -> tuple:
        """Parent's tensors plus the keypoint head's output on the first 100 proposals."""
        results = super().forward(x, rpn_results_list, batch_data_samples)
        if self.with_keypoint:
            rois = bbox2roi([get_box_tensor(r.bboxes) for r in rpn_results_list])[:100]
            results = results + (self._keypoint_forward(x, rois)['keypoint_preds'], )
        return results
