"""``ScaleNormTTAModel``: multi-scale inference, per-scale valid ranges (SNIP §6.1, ISN §3.3.1).

SNIP §6.1 (Fig. 6): "we do not select detections which fall outside a specified range at each
resolution ... we use soft-NMS to combine detections from multiple resolutions".  ISN §3.3.1: "in
the testing phase for each resized resolution, all predicted RoIs whose scale falls within the same
ISN range will be kept for post-processing".  This model wraps a detector the way mmdet's
``DetTTAModel`` does and merges its views (one per pyramid scale, optionally flipped):

1. Each view's detections come back from the detector already rescaled to the original image.
   Flipped views are flipped back (boxes as ``DetTTAModel`` does, masks by flipping the array,
   keypoints ``x -> W - x`` with the left/right swap given by ``flip_indices``).
2. Range filter, per view, before merging, in the pixels of the view's resized image, the rule
   ``MarkValidRange`` applies to the GT at training: the range is converted by
   :func:`mmdet_scalenorm.scale.range_in_pixels` with the view's ``metainfo['scale_factor']``
   ``(sx, sy)``, a detection's scale is ``sqrt(w*h)`` of its box in that view, i.e.
   ``box_scale(original box) * sqrt(sx * sy)`` (computed in float64), and ranges are closed
   (``lo <= s <= hi``):

   * ``valid_range=(lo, hi)`` (ISN, ``reference='resized'``): in pixels of the view's *resized*
     image, the same range for every view, used as is.
   * ``scale_ranges=[(lo, hi), ...]`` (SNIP, ``reference='original'``): one range per pyramid
     scale in pixels of the *original* image, ``(lo, hi) * sqrt(sx * sy)`` in the view (the same
     as comparing ``box_scale(original box)`` with ``(lo, hi)``).  **A view maps to its range by
     its order**: ``TestTimeAug`` yields the views scale-major (all flips of the first scale, then
     all flips of the second, ...) when the ``Resize`` list is its first transform list, so with
     ``V`` views and ``R`` ranges view ``v`` uses ``scale_ranges[v // (V // R)]``.  ``V`` must be a
     multiple of ``R`` (``ValueError`` otherwise).
   * neither: no filter (the rule is switched off).

   A view whose metainfo carries its own ``valid_range`` (written by ``MarkValidRange`` in the
   view's pipeline, already in the view's resized pixels, and kept by ``PackScaleNormInputs``)
   uses that range and nothing else: the range travels with the view, as in training, so the order
   of the ``Resize`` list cannot mis-assign ranges (``configs/_base_/scale_norm/snip.py`` does this:
   each view is ``Compose([Resize, MarkValidRange])``).
3. Detections with NaN/inf boxes or scores are dropped with a warning.
4. The survivors of every view are merged class-aware with soft-NMS
   (:func:`mmdet_scalenorm.ops.batched_soft_nms`, ``nms.type='soft_nms'``) or hard NMS
   (``mmcv.ops.batched_nms``, ``nms.type='nms'``), then the top ``max_per_img`` are kept.  Each kept
   detection keeps its own view's mask / keypoints (no re-prediction); masks are at the original
   image size, as in mmdet's Mask R-CNN output.

With no range and hard NMS the boxes/scores/labels equal ``DetTTAModel``'s merge of the same views.
Views with no detection, images where every view is empty and single views all work; an image with
nothing left returns the first view's data sample with empty ``pred_instances``.

Carried per-instance fields: ``bboxes``, ``scores``, ``labels`` and, when every view has them,
``masks`` ``(n, H, W)``, ``keypoints`` ``(n, K, 2 or 3)`` (a third column is carried unchanged) and
``keypoint_scores`` ``(n, K)``.  Other fields are not merged.
"""
from __future__ import annotations

import warnings
from typing import List, Optional, Sequence

import torch
from mmcv.ops import batched_nms
from mmdet.models.test_time_augs import DetTTAModel
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import bbox_flip
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from ...ops.soft_nms import SOFT_NMS_METHODS, _validate as _validate_soft_nms, batched_soft_nms
from ...scale import (box_scale, in_range, is_unbounded, mean_scale_factor, parse_range,
                      parse_ranges, range_in_pixels)

NMS_TYPES = ('soft_nms', 'nms')
FLIP_DIRECTIONS = ('horizontal', 'vertical', 'diagonal')
_OPTIONAL_FIELDS = ('masks', 'keypoints', 'keypoint_scores')


def _parse_tta_cfg(tta_cfg) -> ConfigDict:
    allowed = ("dict(nms=dict(type='soft_nms'|'nms', iou_threshold=..., [sigma, min_score, "
               "method for soft_nms]), max_per_img=int > 0)")
    if tta_cfg is None:
        tta_cfg = dict(nms=dict(type='soft_nms', iou_threshold=0.3, sigma=0.5, min_score=1e-3,
                                method='linear'), max_per_img=100)
    if not isinstance(tta_cfg, dict):
        raise ValueError(f'tta_cfg must be {allowed}; got {tta_cfg!r}')
    tta_cfg = ConfigDict(tta_cfg)
    nms = tta_cfg.get('nms', None)
    if not isinstance(nms, dict):
        raise ValueError(f'tta_cfg.nms must be a dict, {allowed}; got {nms!r}')
    nms_type = nms.get('type', 'nms')
    if nms_type not in NMS_TYPES:
        raise ValueError(f'tta_cfg.nms.type must be one of {NMS_TYPES}; got {nms_type!r}')
    iou = nms.get('iou_threshold', 0.3 if nms_type == 'soft_nms' else None)
    if iou is None or isinstance(iou, bool) or not isinstance(iou, (int, float)) \
            or not 0 <= iou <= 1:
        raise ValueError(f'tta_cfg.nms.iou_threshold must be a number in [0, 1]; got {iou!r}')
    if nms_type == 'soft_nms':
        extra = set(nms) - {'type', 'iou_threshold', 'sigma', 'min_score', 'method'}
        if extra:
            raise ValueError(f'tta_cfg.nms for soft_nms accepts type, iou_threshold, sigma, '
                             f'min_score, method; got unknown keys {sorted(extra)}')
        method = nms.get('method', 'linear')
        if method not in SOFT_NMS_METHODS:
            raise ValueError(f'tta_cfg.nms.method must be one of {SOFT_NMS_METHODS}; '
                             f'got {method!r}')
        try:
            _validate_soft_nms(iou, nms.get('sigma', 0.5), nms.get('min_score', 1e-3), method, -1)
        except ValueError as e:
            raise ValueError(f'tta_cfg.nms.{e}') from None
    mpi = tta_cfg.get('max_per_img', 100)
    if isinstance(mpi, bool) or not isinstance(mpi, int) or mpi <= 0:
        raise ValueError(f'tta_cfg.max_per_img must be an int > 0; got {mpi!r}')
    tta_cfg.max_per_img = mpi
    return tta_cfg


def _flip_masks(masks: Tensor, direction: str) -> Tensor:
    dims = {'horizontal': [-1], 'vertical': [-2], 'diagonal': [-2, -1]}[direction]
    return masks.flip(dims)


def _flip_keypoints(kpts: Tensor, scores: Optional[Tensor], ori_shape, direction: str,
                    flip_indices: Optional[Sequence[int]]):
    h, w = ori_shape[:2]
    if flip_indices is None:
        raise ValueError('flip_indices (left/right keypoint swap) is needed to flip keypoints '
                         'back: give it in the view metainfo or as ScaleNormTTAModel(flip_indices'
                         '=[...])')
    if len(flip_indices) != kpts.size(1):
        raise ValueError(f'flip_indices has {len(flip_indices)} entries but predictions have '
                         f'{kpts.size(1)} keypoints')
    out = kpts.clone()
    if direction in ('horizontal', 'diagonal'):
        out[..., 0] = w - kpts[..., 0]
    if direction in ('vertical', 'diagonal'):
        out[..., 1] = h - kpts[..., 1]
    idx = torch.as_tensor(list(flip_indices), dtype=torch.long, device=kpts.device)
    out = out[:, idx]
    if scores is not None:
        scores = scores[:, idx]
    return out, scores


@MODELS.register_module()
class ScaleNormTTAModel(DetTTAModel):
    """Merge multi-scale (and flipped) views keeping only in-range detections per view.

    Args:
        tta_cfg (dict): ``nms=dict(type='soft_nms'|'nms', iou_threshold=..., sigma=...,
            min_score=..., method='linear'|'gaussian'|'naive')`` and ``max_per_img``.  Default:
            linear soft-NMS (iou 0.3, sigma 0.5, min_score 1e-3), 100 per image.
        valid_range (tuple, optional): ISN range in each view's resized pixels, e.g. (16, 560).
        scale_ranges (list, optional): SNIP ranges in original pixels, one per scale, in the order
            of the scales in the TTA pipeline (see the module docstring).
        flip_indices (list[int], optional): keypoint left/right swap used when the view metainfo
            has no ``flip_indices``.
        module (dict): the detector, as for ``DetTTAModel``.
    """

    def __init__(self,
                 tta_cfg: Optional[dict] = None,
                 valid_range=None,
                 scale_ranges=None,
                 flip_indices: Optional[Sequence[int]] = None,
                 **kwargs):
        tta_cfg = _parse_tta_cfg(tta_cfg)
        if valid_range is not None and scale_ranges is not None:
            raise ValueError('give either valid_range (ISN, resized pixels) or scale_ranges '
                             '(SNIP, original pixels, one per scale), not both')
        self.valid_range = None if valid_range is None else parse_range(valid_range,
                                                                         'valid_range')
        self.scale_ranges = None if scale_ranges is None else parse_ranges(scale_ranges,
                                                                           'scale_ranges')
        if flip_indices is not None:
            if isinstance(flip_indices, (str, bytes)) or not all(
                    isinstance(i, int) and not isinstance(i, bool) for i in flip_indices):
                raise ValueError(f'flip_indices must be a list of ints; got {flip_indices!r}')
            n = len(flip_indices)
            if sorted(flip_indices) != list(range(n)):
                raise ValueError(f'flip_indices must be a permutation of 0..K-1; '
                                 f'got {flip_indices!r}')
            flip_indices = list(flip_indices)
        self.flip_indices = flip_indices
        super().__init__(tta_cfg=tta_cfg, **kwargs)

    # ---------------------------------------------------------------- per view
    def _view_range(self, view: int, num_views: int, meta: dict):
        """``(lo, hi, reference)`` for a view, or ``None`` when no range applies."""
        if meta.get('valid_range') is not None:  # the view's own range, in its resized pixels
            rng = parse_range(meta['valid_range'], 'valid_range')
            return (*rng, 'resized') if not is_unbounded(rng) else None
        if self.valid_range is not None:
            return (*self.valid_range, 'resized') if not is_unbounded(self.valid_range) else None
        if self.scale_ranges is not None:
            r = len(self.scale_ranges)
            if num_views % r:
                raise ValueError(f'scale_ranges has {r} ranges but the image has {num_views} '
                                 'views; the views must be the scales in order (scale-major), '
                                 'each repeated the same number of times (flips)')
            rng = self.scale_ranges[view // (num_views // r)]
            return (*rng, 'original') if not is_unbounded(rng) else None
        raise ValueError(
            f"ScaleNormTTAModel: view {view} of image img_id={meta.get('img_id')!r} has no "
            "'valid_range' metainfo and the model has neither valid_range nor scale_ranges, so "
            'the per-view range rule would silently be off. Mark each view with MarkValidRange '
            "(packed by PackScaleNormInputs), set valid_range/scale_ranges, or pass "
            "valid_range=(0, 'inf') to merge the views without a range on purpose")

    def _recover_view(self, sample: DetDataSample, view: int, num_views: int,
                      fields: Sequence[str]) -> dict:
        """One view's detections in original-image coordinates, filtered by its range."""
        meta = sample.metainfo
        pred = sample.pred_instances
        out = dict(bboxes=pred.bboxes, scores=pred.scores, labels=pred.labels)
        for k in fields:
            out[k] = pred.get(k)
        if meta.get('flip', False):
            direction = meta.get('flip_direction', 'horizontal')
            if direction not in FLIP_DIRECTIONS:
                raise ValueError(f'flip_direction must be one of {FLIP_DIRECTIONS}; '
                                 f'got {direction!r}')
            ori_shape = meta['ori_shape']
            out['bboxes'] = bbox_flip(out['bboxes'], ori_shape, direction)
            if 'masks' in fields:
                out['masks'] = _flip_masks(out['masks'], direction)
            if 'keypoints' in fields:
                out['keypoints'], ks = _flip_keypoints(
                    out['keypoints'], out.get('keypoint_scores'), ori_shape, direction,
                    meta.get('flip_indices', self.flip_indices))
                if 'keypoint_scores' in fields:
                    out['keypoint_scores'] = ks
        keep = torch.isfinite(out['bboxes']).all(1) & torch.isfinite(out['scores'])
        if not bool(keep.all()):
            warnings.warn(f'ScaleNormTTAModel: dropping {int((~keep).sum())} detections with '
                          f'NaN/inf boxes or scores in view {view}')
        rng = self._view_range(view, num_views, meta)
        if rng is not None:
            lo, hi, ref = rng
            sf = meta.get('scale_factor')
            lo, hi = range_in_pixels((lo, hi), ref, sf)
            # the boxes came back in original pixels: their scale in this view's pixels
            scales = box_scale(out['bboxes'].double()) * mean_scale_factor(sf)
            keep = keep & in_range(scales, lo, hi)
        return {k: v[keep] for k, v in out.items()}

    # ---------------------------------------------------------------- merging
    def _merge_single_sample(self, data_samples: List[DetDataSample]) -> DetDataSample:
        num_views = len(data_samples)
        preds = [s.pred_instances for s in data_samples]
        fields = [k for k in _OPTIONAL_FIELDS if all(k in p for p in preds)]
        views = [self._recover_view(s, v, num_views, fields) for v, s in enumerate(data_samples)]
        merged = {k: torch.cat([v[k] for v in views], 0) for k in views[0]}
        if 'masks' in merged and len({tuple(v['masks'].shape[1:]) for v in views}) > 1:
            raise ValueError('masks of all views must be pasted at the original image size '
                             '(run the detector with rescale=True)')
        nms = dict(self.tta_cfg.nms)
        max_per_img = self.tta_cfg.max_per_img
        if merged['bboxes'].numel() == 0:
            keep = torch.zeros(0, dtype=torch.long, device=merged['bboxes'].device)
            scores = merged['scores'][keep]
        elif nms.get('type', 'nms') == 'soft_nms':
            nms.pop('type')
            dets, keep = batched_soft_nms(merged['bboxes'], merged['scores'], merged['labels'],
                                          max_num=max_per_img, **nms)
            scores = dets[:, -1]
        else:
            dets, keep = batched_nms(merged['bboxes'], merged['scores'], merged['labels'], nms)
            dets, keep = dets[:max_per_img], keep[:max_per_img]
            scores = dets[:, -1]
        results = InstanceData()
        results.bboxes = merged['bboxes'][keep]
        results.scores = scores
        results.labels = merged['labels'][keep]
        for k in fields:
            results[k] = merged[k][keep]
        det_results = data_samples[0]
        det_results.pred_instances = results
        return det_results
