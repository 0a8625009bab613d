"""COCO keypoint AP (OKS) for MMDetection 3.x, also within box-scale ranges (ISN §4.3.2, Table 9).

ISN (§4.3.2, Table 9) reports ``AP^kps``, COCO's keypoint AP: detections are matched to ground
truth by the Object Keypoint Similarity ``OKS = mean_k exp(-d_k^2 / (2 s^2 (2 sigma_k)^2))`` over
the labelled keypoints (``s^2`` = the ground truth's ``area``), and AP is averaged over OKS
thresholds 0.5:0.95, as ``pycocotools.COCOeval(iouType='keypoints')`` computes it.
:class:`CocoKeypointMetric` is :class:`ScaleRangeCocoMetric` (mmdet's ``CocoMetric`` plus AP/AR
within ranges of box scale ``sqrt(w*h)``) with one more metric, ``'keypoints'``:

* predictions: ``pred_instances.keypoints`` (N, K, 3) = (x, y, score) in original-image pixels,
  one row per box of ``pred_instances.bboxes``.  Rows whose label is a category with keypoints
  in ``ann_file`` (a non-empty ``keypoints`` name list; ``figure`` of the synthetic benchmark)
  become COCO keypoint results ``{image_id, category_id, keypoints: [x, y, score] * K, score}``
  (pycocotools reads only x and y; the third value is the keypoint score, as mmpose writes it);
  rows of the other categories are box detections only.  Instance ``score``: the box score
  (``score_mode='bbox'``, default), or mmpose's ``'bbox_keypoint'``: box score times the mean of
  the keypoint scores above ``keypoint_score_thr`` (0 when none is).
* OKS sigmas: ``dataset_meta['sigmas']`` (K,), else pycocotools' 17 COCO person sigmas when every
  evaluated keypoint category is COCO's 17-keypoint ``person``; anything else is an error.
* keys (mmdet's naming): ``keypoints_mAP``, ``keypoints_mAP_50``, ``keypoints_mAP_75``,
  ``keypoints_mAP_m``, ``keypoints_mAP_l`` (``COCOeval.stats[0:5]``, 20 detections per image as
  COCO's keypoint benchmark), and per scale range ``keypoints_mAP_{lo}-{hi}`` /
  ``keypoints_mAR_{lo}-{hi}``.  ``metric=['bbox', 'keypoints']`` adds the parent's box keys.
  OKS thresholds are the metric's ``iou_thrs`` (COCO's 0.5:0.95 by default).
* scale ranges, by the parent's mechanism (:meth:`ScaleRangeCocoMetric.range_stats`): ground
  truth is in a range by its **box** ``sqrt(w*h)`` (a copy of the ground truth whose ``area`` is
  the box ``w*h``), an unmatched detection is ignored when its **predicted box** is outside.  One
  difference from boxes: OKS itself normalises by ``area``, so the range evaluation computes OKS
  with the annotation file's ``area`` (as the standard keys do) and only the range filter uses
  the box area.  The standard ``keypoints_mAP_m/l`` keep pycocotools' rules (GT by the file's
  ``area``, detections by the extent of their keypoints).
* no keypoint result at all: every key is computed on an empty result set (AP 0, or -1 where no
  ground truth counts), where ``CocoMetric`` logs an error and returns no box keys.

Unfinished / not supported for ``'keypoints'``: ``ann_file=None`` (ground truth converted from the
data samples has no keypoints), ``classwise``, ``metric_items`` (they act on the box keys only),
``use_mp_eval``, OKS-NMS rescoring.
"""
import copy
from numbers import Real
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.fileio import dump
from mmengine.logging import MMLogger, print_log
from pycocotools.cocoeval import Params

from mmdet.datasets.api_wrappers import COCO, COCOeval
from mmdet.registry import METRICS

from .scale_range_coco_metric import ScaleRangeCocoMetric, box_area_coco

__all__ = ['CocoKeypointMetric', 'COCO_PERSON_SIGMAS', 'SCORE_MODES']

COCO_PERSON_SIGMAS = Params(iouType='keypoints').kpt_oks_sigmas  # pycocotools' own 17
SCORE_MODES = ('bbox', 'bbox_keypoint')
_STAT_ITEMS = (('mAP', 0), ('mAP_50', 1), ('mAP_75', 2), ('mAP_m', 3), ('mAP_l', 4))


class _OksAreaEval(COCOeval):
    """``COCOeval(iouType='keypoints')`` on ground truth whose ``area`` is the box ``w*h`` (the
    range filter), computing OKS with each annotation's ``area`` in ``oks_anns`` instead."""

    def __init__(self, coco_gt: COCO, coco_dt: COCO, oks_anns: Dict[int, dict]) -> None:
        super().__init__(coco_gt, coco_dt, 'keypoints')
        self._oks_anns = oks_anns

    def computeOks(self, imgId, catId):  # noqa: N802 - pycocotools' name
        gts = self._gts[imgId, catId]
        box_areas = [g['area'] for g in gts]
        for g in gts:
            g['area'] = self._oks_anns[g['id']]['area']
        try:
            return super().computeOks(imgId, catId)
        finally:
            for g, area in zip(gts, box_areas):
                g['area'] = area


def _load_results(coco_gt: COCO, dts: List[dict]) -> COCO:
    """``coco_gt.loadRes`` of copies of ``dts``; an empty result set where pycocotools fails."""
    if dts:
        return coco_gt.loadRes([dict(d) for d in dts])
    coco_dt = COCO()
    coco_dt.dataset = dict(images=list(coco_gt.dataset['images']), annotations=[],
                           categories=copy.deepcopy(coco_gt.dataset['categories']))
    coco_dt.createIndex()
    return coco_dt


@METRICS.register_module()
class CocoKeypointMetric(ScaleRangeCocoMetric):
    """``ScaleRangeCocoMetric`` plus COCO keypoint (OKS) AP, also within box-scale ranges.

    Args:
        ann_file: COCO keypoint json; required when ``metric`` has ``'keypoints'``.
        metric: ``'keypoints'`` (default) and/or the parent's ``'bbox'``, ``'segm'``,
            ``'proposal'``, ``'proposal_fast'``, as a str or a list.
        score_mode: instance score of a keypoint result, one of ``SCORE_MODES``.
        keypoint_score_thr: keypoint scores above it enter the ``'bbox_keypoint'`` mean.
        **kwargs: ``ScaleRangeCocoMetric``'s arguments (``scale_ranges``, ``restrict_to_results``)
            and ``CocoMetric``'s.
    """

    def __init__(self, ann_file: Optional[str] = None,
                 metric: Union[str, List[str]] = 'keypoints', score_mode: str = 'bbox',
                 keypoint_score_thr: float = 0.2, **kwargs) -> None:
        metrics = list(metric) if isinstance(metric, (list, tuple)) else [metric]
        if score_mode not in SCORE_MODES:
            raise ValueError(f'score_mode must be one of {SCORE_MODES}; got {score_mode!r}')
        if isinstance(keypoint_score_thr, bool) or not isinstance(keypoint_score_thr, Real):
            raise ValueError(f'keypoint_score_thr must be a number; got {keypoint_score_thr!r}')
        self.score_mode = score_mode
        self.keypoint_score_thr = float(keypoint_score_thr)
        self.eval_keypoints = 'keypoints' in metrics
        # CocoMetric checks (and keeps in self.metrics) the box metrics only.
        super().__init__(ann_file=ann_file, metric=[m for m in metrics if m != 'keypoints'],
                         **kwargs)
        self._kpt_num: Dict[int, int] = {}
        if self.eval_keypoints:
            if ann_file is None:
                raise ValueError("CocoKeypointMetric: metric 'keypoints' needs ann_file, a COCO "
                                 'keypoint json (ground truth converted from the data samples '
                                 'has no keypoints)')
            self._kpt_num = self._check_keypoint_gt(self._coco_api, ann_file)

    @staticmethod
    def _check_keypoint_gt(coco: COCO, ann_file: str) -> Dict[int, int]:
        """``{category id: K}`` of the categories with keypoints; checks their annotations."""
        kpt_num = {c['id']: len(c['keypoints']) for c in coco.dataset['categories']
                   if c.get('keypoints')}
        if not kpt_num:
            raise ValueError(f"CocoKeypointMetric: ann_file {ann_file!r} has no category with "
                             f"'keypoints' (names); metric 'keypoints' needs a COCO keypoint json")
        for a in coco.dataset['annotations']:
            k = kpt_num.get(a['category_id'])
            if k is None:
                continue
            where = (f'CocoKeypointMetric: ann_file {ann_file!r}: annotation {a.get("id")!r} '
                     f'(image {a.get("image_id")!r}, category {a["category_id"]})')
            kps = a.get('keypoints')
            if not isinstance(kps, list) or len(kps) != 3 * k:
                got = len(kps) if isinstance(kps, list) else repr(kps)
                raise ValueError(f"{where}: 'keypoints' must be a list of 3*K = {3 * k} numbers "
                                 f'(x, y, v); got {got}')
            if not set(kps[2::3]) <= {0, 1, 2}:
                raise ValueError(f'{where}: keypoint visibility v must be 0, 1 or 2; got '
                                 f'{sorted(set(kps[2::3]) - {0, 1, 2})}')
            if 'num_keypoints' not in a:
                raise ValueError(f"{where}: has 'keypoints' but no 'num_keypoints'")
        return kpt_num

    # ------------------------------------------------------------------ predictions
    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """``CocoMetric.process`` plus ``pred_instances.keypoints`` (checked) per image."""
        if not self.eval_keypoints:
            return super().process(data_batch, data_samples)
        keypoints = [self._pred_keypoints(s) for s in data_samples]
        super().process(data_batch, data_samples)
        if keypoints:
            for (_, result), kps in zip(self.results[-len(keypoints):], keypoints):
                result['keypoints'] = kps

    @staticmethod
    def _pred_keypoints(data_sample: dict) -> np.ndarray:
        pred, img_id = data_sample['pred_instances'], data_sample['img_id']
        if 'keypoints' not in pred:
            raise ValueError(f"CocoKeypointMetric: image {img_id}: pred_instances has no "
                             f"'keypoints' ((N, K, 3) x, y, score), which metric 'keypoints' "
                             f'needs')
        kps = pred['keypoints']
        kps = kps.detach().cpu().numpy() if isinstance(kps, torch.Tensor) else np.asarray(kps)
        n = len(pred['bboxes'])
        if kps.ndim != 3 or kps.shape[0] != n or kps.shape[2] != 3:
            raise ValueError(f'CocoKeypointMetric: image {img_id}: pred_instances.keypoints must '
                             f'have shape (N, K, 3) with N = {n} boxes; got {tuple(kps.shape)}')
        if not np.isfinite(kps).all():
            raise ValueError(f'CocoKeypointMetric: image {img_id}: pred_instances.keypoints has '
                             f'non-finite values')
        return kps.astype(np.float64)

    def keypoint_cat_ids(self) -> List[int]:
        """The evaluated keypoint categories: ``self.cat_ids`` that have keypoints."""
        cat_ids = [c for c in self.cat_ids if c in self._kpt_num]
        if not cat_ids:
            raise ValueError(f"CocoKeypointMetric: no class of dataset_meta['classes'] "
                             f"{tuple(self.dataset_meta['classes'])} has keypoints in ann_file "
                             f'(categories with keypoints: '
                             f'{[self._coco_api.cats[c]["name"] for c in self._kpt_num]})')
        return cat_ids

    def num_keypoints(self) -> int:
        """K of the evaluated keypoint categories (one K: pycocotools has one sigma list)."""
        ks = {self._kpt_num[c] for c in self.keypoint_cat_ids()}
        if len(ks) != 1:
            raise ValueError(f'CocoKeypointMetric: the keypoint categories have different '
                             f'numbers of keypoints {sorted(ks)}; OKS uses one sigma per '
                             f'keypoint for all of them')
        return ks.pop()

    def keypoint_results(self, results: Sequence[dict]) -> Tuple[List[dict], List[float]]:
        """COCO keypoint results of ``results`` (``process``'s dicts) and each one's box ``w*h``."""
        kpt_cats, k = set(self.keypoint_cat_ids()), self.num_keypoints()
        dts, box_areas = [], []
        for idx, result in enumerate(results):
            img_id = result.get('img_id', idx)
            kps = result['keypoints']
            if kps.shape[1] != k:
                raise ValueError(f'CocoKeypointMetric: image {img_id}: pred_instances.keypoints '
                                 f'has K={kps.shape[1]} keypoints per instance; the keypoint '
                                 f'categories of ann_file have K={k}')
            for i, label in enumerate(result['labels']):
                cat_id = self.cat_ids[label]
                if cat_id not in kpt_cats:
                    continue
                score = float(result['scores'][i])
                if self.score_mode == 'bbox_keypoint':
                    s = kps[i, :, 2]
                    valid = s > self.keypoint_score_thr
                    score *= float(s[valid].mean()) if valid.any() else 0.0
                dts.append(dict(image_id=img_id, category_id=cat_id, score=score,
                                keypoints=kps[i].reshape(-1).tolist()))
                _, _, w, h = self.xyxy2xywh(np.asarray(result['bboxes'][i], np.float64))
                box_areas.append(max(w, 0.0) * max(h, 0.0))
        return dts, box_areas

    def results2json(self, results: Sequence[dict], outfile_prefix: str) -> dict:
        """``CocoMetric.results2json`` plus ``{outfile_prefix}.keypoints.json``."""
        result_files = super().results2json(results, outfile_prefix)
        if self.eval_keypoints:
            result_files['keypoints'] = f'{outfile_prefix}.keypoints.json'
            dump(self.keypoint_results(results)[0], result_files['keypoints'])
        return result_files

    # ------------------------------------------------------------------ evaluation
    def oks_sigmas(self) -> np.ndarray:
        """``dataset_meta['sigmas']``, or COCO person's for COCO's 17-keypoint ``person``."""
        cat_ids, k = self.keypoint_cat_ids(), self.num_keypoints()
        names = [self._coco_api.cats[c]['name'] for c in cat_ids]
        sigmas = (self.dataset_meta or {}).get('sigmas')
        if sigmas is None:
            if k == len(COCO_PERSON_SIGMAS) and set(names) == {'person'}:
                return COCO_PERSON_SIGMAS.copy()
            raise ValueError(f"CocoKeypointMetric: dataset_meta has no 'sigmas' and the keypoint "
                             f'categories {names} (K={k}) are not COCO\'s 17-keypoint "person"; '
                             f"set the dataset metainfo 'sigmas' to {k} OKS sigmas")
        sig = np.asarray(sigmas, dtype=np.float64)
        if sig.ndim != 1 or len(sig) != k:
            raise ValueError(f"CocoKeypointMetric: dataset_meta['sigmas'] must hold K={k} values "
                             f'(one per keypoint of {names}); got shape {sig.shape}')
        if not (np.isfinite(sig).all() and (sig > 0).all()):
            raise ValueError(f"CocoKeypointMetric: dataset_meta['sigmas'] must be finite and > 0; "
                             f'got {sig.tolist()}')
        return sig

    def _configure(self, coco_eval: COCOeval, sigmas: np.ndarray) -> COCOeval:
        p = coco_eval.params
        p.catIds = self.keypoint_cat_ids()
        p.imgIds = self.img_ids
        p.iouThrs = self.iou_thrs
        p.kpt_oks_sigmas = sigmas
        return coco_eval

    def evaluate_keypoints(self, results: Sequence[dict]
                           ) -> Tuple[np.ndarray, List[Tuple[float, float, int]]]:
        """Unrounded ``COCOeval.stats`` (10,) and per scale range (AP, AR, #GT) of ``results``."""
        dts, box_areas = self.keypoint_results(results)
        unknown = {d['image_id'] for d in dts} - set(self._coco_api.getImgIds())
        if unknown:
            raise ValueError(f'CocoKeypointMetric: predictions for images {sorted(unknown)[:10]} '
                             f'that ann_file does not have')
        sigmas = self.oks_sigmas()
        coco_eval = self._configure(
            COCOeval(self._coco_api, _load_results(self._coco_api, dts), 'keypoints'), sigmas)
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
        if self._range_coco_api is None:
            self._range_coco_api = box_area_coco(self._coco_api)
        range_dt = _load_results(self._range_coco_api, dts)
        for ann, area in zip(range_dt.dataset['annotations'], box_areas):
            ann['area'] = area  # same order as dts: the predicted box decides the range
        range_eval = self._configure(
            _OksAreaEval(self._range_coco_api, range_dt, self._coco_api.anns), sigmas)
        return np.asarray(coco_eval.stats, dtype=np.float64), self.range_stats(range_eval)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """The parent's keys, then the ``keypoints_*`` keys (see the module docstring)."""
        eval_results = super().compute_metrics(results)
        if not self.eval_keypoints or self.format_only:
            return eval_results
        _, preds = zip(*results)
        stats, ranges = self.evaluate_keypoints(preds)
        for name, i in _STAT_ITEMS:
            eval_results[f'keypoints_{name}'] = float(f'{round(stats[i], 3)}')
        rows = []
        for key, (ap, ar, n_gt) in zip(self.range_keys, ranges):
            eval_results[f'keypoints_mAP_{key}'] = float(f'{round(ap, 3)}')
            eval_results[f'keypoints_mAR_{key}'] = float(f'{round(ar, 3)}')
            rows.append(('keypoints', key, n_gt, ap, ar))
        print_log('keypoints_mAP_copypaste: ' + ' '.join(f'{s:.3f}' for s in stats[:5]),
                  logger=MMLogger.get_current_instance())
        self._log_table(rows)
        return eval_results
