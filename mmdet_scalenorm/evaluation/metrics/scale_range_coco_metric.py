"""COCO AP / AR restricted to ranges of object scale (ISN §4.3, Table 7's ``AP_[16,560]``).

ISN (§4.3, Table 7) reports the AP of objects whose scale ``sqrt(w*h)`` lies in the valid range
``[16, 560]``.  :class:`ScaleRangeCocoMetric` is mmdet's ``CocoMetric`` plus, for every
``(lo, hi)`` in ``scale_ranges`` and every ``bbox`` / ``segm`` metric, the keys
``{metric}_mAP_{lo}-{hi}`` and ``{metric}_mAR_{lo}-{hi}`` (``lo``/``hi`` written as ints when
integral, ``inf`` for no upper bound: ``bbox_mAP_16-560``, ``segm_mAR_120-inf``).  For the
``proposal`` metric only ``proposal_mAR_{lo}-{hi}`` is added.  The usual keys are untouched.

How the range is applied (pycocotools ``areaRng``, set to ``[lo**2, hi**2]``, ``inf -> 1e10``
like COCO's ``all``):

* pycocotools filters ground truth by its ``area`` field, which in COCO is the **mask** area, not
  the box.  The range must apply to the box scale ``sqrt(w*h)`` (the one scale rule of
  ``mmdet_scalenorm.scale``), so the range evaluation runs on a **copy** of the ground truth whose
  ``area`` is ``w*h`` of each annotation's ``bbox``.  The usual keys (mAP_s/m/l ...) keep COCO's
  mask areas.
* detections: pycocotools ignores an unmatched detection whose ``area`` is outside the range.  A
  bbox detection's area is ``w*h`` of its box already; for ``segm`` the detection's box is its
  mask's tight box (as mmdet does for segm, the predicted box is dropped) and its ``area`` is set
  to that box's ``w*h``.
* the range is closed on both ends (pycocotools tests ``area < lo**2 or area > hi**2``), the same
  convention as :func:`mmdet_scalenorm.scale.in_range`.
* AP = mean of ``precision[iou, recall, cat, range, maxDets[-1]]`` over entries > -1 and AR = mean
  of ``recall[iou, cat, range, maxDets[-1]]`` over entries > -1, exactly as ``COCOeval.summarize``
  computes ``AP`` / ``AR_s`` with the metric's ``iou_thrs`` and ``proposal_nums`` as ``maxDets``;
  ``-1`` when no ground truth lies in the range (COCO's convention).  Values are rounded to 3
  decimals like mmdet's keys.

Cost: the standard evaluation runs once (``CocoMetric.compute_metrics``); the range evaluation is a
second ``COCOeval`` over all ranges at once, because it needs different ground-truth areas (so the
IoUs are computed twice).
"""
import math
import os.path as osp
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.fileio import get_local_path, load
from mmengine.logging import MMLogger, print_log

from mmdet.datasets.api_wrappers import COCO, COCOeval
from mmdet.evaluation.metrics import CocoMetric
from mmdet.registry import METRICS

from ...scale import parse_ranges

__all__ = ['ScaleRangeCocoMetric', 'range_key', 'box_area_coco']

_UNBOUNDED_AREA = 1e10  # COCO's 'all' area range ends at 1e5 ** 2


def _fmt(v: float) -> str:
    if math.isinf(v):
        return 'inf'
    return str(int(v)) if float(v).is_integer() else f'{v:g}'


def range_key(rng: Tuple[float, float]) -> str:
    """``(16, 560) -> '16-560'``, ``(120, inf) -> '120-inf'``, ``(0.5, 8) -> '0.5-8'``."""
    return f'{_fmt(rng[0])}-{_fmt(rng[1])}'


def _area_rng(rng: Tuple[float, float]) -> List[float]:
    lo, hi = rng
    return [lo ** 2, _UNBOUNDED_AREA if math.isinf(hi) else hi ** 2]


def box_area_coco(coco: COCO) -> COCO:
    """A copy of ``coco`` whose annotations have ``area = bbox w * h`` (others shared)."""
    dataset = dict(coco.dataset)
    dataset['annotations'] = [
        dict(a, area=float(max(a['bbox'][2], 0) * max(a['bbox'][3], 0)))
        for a in coco.dataset.get('annotations', [])
    ]
    out = COCO()
    out.dataset = dataset
    out.createIndex()
    return out


@METRICS.register_module()
class ScaleRangeCocoMetric(CocoMetric):
    """``CocoMetric`` with AP/AR restricted to object scales ``sqrt(w*h)`` in ``scale_ranges``.

    Args:
        scale_ranges: list of ``(lo, hi)`` box-scale ranges in original-image pixels; ``hi`` may
            be ``inf`` / ``'inf'`` / ``None``.  Default ``[(16, 560)]`` (ISN Table 7).
        restrict_to_results (bool): evaluate on the images that have results only (a test on a
            subset of the annotation file's images), for every metric, the range ones included.
            Default False: ``CocoMetric``'s rule, every image of the file, so the GT of images
            that were not run count as missed.
        **kwargs: ``CocoMetric``'s arguments.
    """

    def __init__(self, scale_ranges: Sequence = ((16, 560), ), ann_file: Optional[str] = None,
                 sort_categories: bool = False, restrict_to_results: bool = False,
                 **kwargs) -> None:
        if not isinstance(restrict_to_results, bool):
            raise ValueError(f'restrict_to_results must be True or False; got '
                             f'{restrict_to_results!r}')
        self.restrict_to_results = restrict_to_results
        self.scale_ranges = parse_ranges(scale_ranges, 'scale_ranges')
        keys = [range_key(r) for r in self.scale_ranges]
        if len(set(keys)) != len(keys):
            raise ValueError(f'scale_ranges must not repeat a range; got {list(scale_ranges)!r}')
        self.range_keys = keys
        # CocoMetric checks its own arguments (metric names, format_only needs outfile_prefix,
        # file_client_args ...) before it loads ann_file; its errors pass through unchanged.
        # Only the annotation loading below is wrapped.
        super().__init__(ann_file=None, sort_categories=sort_categories, **kwargs)
        if ann_file is not None:
            self._coco_api = self._load_coco(ann_file, sort_categories)
        self._range_coco_api = None

    def _load_coco(self, ann_file: str, sort_categories: bool) -> COCO:
        """``CocoMetric``'s annotation loading, with a clear error for a file that is not COCO
        json (json errors are ValueErrors; pycocotools asserts that the top level is a dict)."""
        if '://' not in str(ann_file) and not osp.isfile(ann_file):
            raise FileNotFoundError(
                f'ScaleRangeCocoMetric: ann_file {ann_file!r} does not exist')
        with get_local_path(ann_file, backend_args=self.backend_args) as local_path:
            try:
                coco = COCO(local_path)
            except (ValueError, UnicodeDecodeError, AssertionError) as e:
                raise ValueError(f'ScaleRangeCocoMetric: ann_file {ann_file!r} is not a COCO '
                                 f'annotation file ({type(e).__name__}: {e})') from e
        self._check_coco(coco, ann_file)
        if sort_categories:  # as CocoMetric (objects365's category order is inconsistent)
            coco.cats = {i: coco.cats[i] for i in sorted(coco.cats)}
            coco.dataset['categories'] = sorted(coco.dataset['categories'],
                                                key=lambda c: c['id'])
        return coco

    @staticmethod
    def _check_coco(coco: COCO, ann_file) -> None:
        ds = coco.dataset
        for key in ('images', 'annotations', 'categories'):
            if not isinstance(ds.get(key), list):
                raise ValueError(f'ScaleRangeCocoMetric: ann_file {ann_file!r} is not a COCO '
                                 f'annotation file: no "{key}" list')
        for a in ds['annotations']:
            bbox = a.get('bbox')
            if not (isinstance(bbox, (list, tuple)) and len(bbox) == 4):
                raise ValueError(f'ScaleRangeCocoMetric: ann_file {ann_file!r}: annotation '
                                 f'{a.get("id")!r} has no [x, y, w, h] "bbox"')

    # ------------------------------------------------------------------ evaluation
    def compute_metrics(self, results: list) -> Dict[str, float]:
        if self.restrict_to_results:  # CocoMetric evaluates on self.img_ids when it is set
            self.img_ids = sorted({int(pred['img_id']) for _, pred in results})
        eval_results = super().compute_metrics(results)
        if self.format_only:
            return eval_results
        range_metrics = [m for m in self.metrics if m in ('bbox', 'segm', 'proposal')]
        if not range_metrics:
            return eval_results
        if self._range_coco_api is None:
            self._range_coco_api = box_area_coco(self._coco_api)
        _, preds = zip(*results)
        rows = []
        with tempfile.TemporaryDirectory() as tmp_dir:
            result_files = self.results2json(preds, osp.join(tmp_dir, 'results'))
            for metric in range_metrics:
                iou_type = 'bbox' if metric == 'proposal' else metric
                stats = self.evaluate_ranges(load(result_files[metric]), iou_type,
                                             use_cats=metric != 'proposal')
                if stats is None:
                    continue
                for key, (ap, ar, n_gt) in zip(self.range_keys, stats):
                    if metric != 'proposal':
                        eval_results[f'{metric}_mAP_{key}'] = float(f'{round(ap, 3)}')
                    eval_results[f'{metric}_mAR_{key}'] = float(f'{round(ar, 3)}')
                    rows.append((metric, key, n_gt, ap, ar))
        self._log_table(rows)
        return eval_results

    def evaluate_ranges(self, predictions: List[dict], iou_type: str,
                        use_cats: bool = True) -> Optional[List[Tuple[float, float, int]]]:
        """(AP, AR, number of GT in range) per scale range, from COCO-json ``predictions``.

        Returns None when there is no prediction at all (``CocoMetric`` logs that case).
        """
        if len(predictions) == 0:
            return None
        gt = self._range_coco_api
        if iou_type == 'segm':
            for p in predictions:
                p.pop('bbox', None)  # the mask's own box, as CocoMetric does
        coco_dt = gt.loadRes(predictions)
        for ann in coco_dt.dataset['annotations']:
            ann['area'] = float(max(ann['bbox'][2], 0) * max(ann['bbox'][3], 0))
        coco_eval = COCOeval(gt, coco_dt, iou_type)
        p = coco_eval.params
        p.catIds = self.cat_ids
        p.imgIds = self.img_ids
        p.maxDets = list(self.proposal_nums)
        p.iouThrs = self.iou_thrs
        p.useCats = int(use_cats)
        return self.range_stats(coco_eval)

    def range_stats(self, coco_eval: COCOeval) -> List[Tuple[float, float, int]]:
        """Run a configured ``coco_eval`` over ``scale_ranges`` -> (AP, AR, #GT) per range.

        ``coco_eval``'s ground truth must carry the box ``w*h`` as ``area`` (:func:`box_area_coco`)
        and its detections the area that decides their range; its area ranges are replaced by
        ``scale_ranges``.  #GT counts the ground truth that pycocotools does not ignore.
        """
        p = coco_eval.params
        p.areaRng = [_area_rng(r) for r in self.scale_ranges]
        p.areaRngLbl = list(self.range_keys)
        coco_eval.evaluate()
        coco_eval.accumulate()
        precision = coco_eval.eval['precision']  # (T, R, K, A, M)
        recall = coco_eval.eval['recall']  # (T, K, A, M)
        out = []
        gts = [g for gs in coco_eval._gts.values() for g in gs if not g['ignore']]
        for a_idx, area in enumerate(p.areaRng):
            pr = precision[:, :, :, a_idx, -1]
            rc = recall[:, :, a_idx, -1]
            ap = float(np.mean(pr[pr > -1])) if (pr > -1).any() else -1.0
            ar = float(np.mean(rc[rc > -1])) if (rc > -1).any() else -1.0
            n_gt = sum(1 for g in gts if area[0] <= g['area'] <= area[1])
            out.append((ap, ar, n_gt))
        return out

    def _log_table(self, rows) -> None:
        if not rows:
            return
        lines = ['scale range (sqrt(w*h), px) | metric | #GT | AP | AR']
        for metric, key, n_gt, ap, ar in rows:
            ap_s = '-' if metric == 'proposal' else f'{ap:.3f}'
            lines.append(f'{key:>27} | {metric:>6} | {n_gt:>4} | {ap_s} | {ar:.3f}')
        print_log('AP/AR within scale ranges:\n' + '\n'.join(lines),
                  logger=MMLogger.get_current_instance())
