"""Keypoint localisation error of matched detections, against a mean-pose prior.

OKS AP (COCO's keypoint metric) says how many people are found with keypoints within each OKS
threshold, not how far the predicted keypoints are. This module measures the distance itself, so
a low OKS AP can be read as "the head is imprecise" or "the head has learned nothing":

* each GT instance with a labelled keypoint (v > 0) is matched to the highest-scoring detection
  of its class with box IoU >= ``iou_thr``, greedily by score, one detection per GT (COCO's
  greedy matching, by box here);
* a keypoint's error is its pixel distance to the prediction divided by the GT box's size
  sqrt(w*h) (the scale rule of :func:`mmdet_scalenorm.scale.box_scale`);
* the prior is the mean pose: each keypoint's mean position relative to its box (x - x0) / w,
  (y - y0) / h over the labelled keypoints of a reference set (the training annotations), placed
  in the matched detection's box: the error a head that learned only the average figure makes;
* OKS per instance is COCO's: mean over labelled keypoints of exp(-d^2 / (2 * area * (2 sigma)^2))
  (cocoapi ``COCOeval.computeOks``, ``area`` the GT annotation's area).
"""
from typing import Dict, Sequence

import numpy as np
from mmdet.evaluation.functional import bbox_overlaps

from ..scale import box_scale

__all__ = ['match_detections', 'mean_pose', 'place_pose', 'oks', 'summarize_errors']


def match_detections(gt_boxes: np.ndarray, det_boxes: np.ndarray, det_scores: np.ndarray,
                     iou_thr: float = 0.5) -> np.ndarray:
    """Index of the detection matched to each GT box (-1: none), greedy by score.

    Args:
        gt_boxes (np.ndarray): (G, 4) x1, y1, x2, y2.
        det_boxes (np.ndarray): (D, 4).
        det_scores (np.ndarray): (D, ).
        iou_thr (float): the least IoU of a match.
    """
    gt_boxes = np.asarray(gt_boxes, np.float64).reshape(-1, 4)
    det_boxes = np.asarray(det_boxes, np.float64).reshape(-1, 4)
    match = np.full(len(gt_boxes), -1, dtype=np.int64)
    if not len(gt_boxes) or not len(det_boxes):
        return match
    ious = bbox_overlaps(det_boxes, gt_boxes)  # (D, G)
    for d in np.argsort(-np.asarray(det_scores, np.float64), kind='stable'):
        free = np.where(match < 0, ious[d], -1.0)
        g = int(np.argmax(free))
        if free[g] >= iou_thr:
            match[g] = d
    return match


def mean_pose(boxes: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """(K, 2) mean position of each keypoint relative to its box, over labelled keypoints.

    Args:
        boxes (np.ndarray): (N, 4) x1, y1, x2, y2.
        keypoints (np.ndarray): (N, K, 3) x, y, v.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    kps = np.asarray(keypoints, np.float64)
    wh = (boxes[:, 2:] - boxes[:, :2])[:, None]
    rel = (kps[..., :2] - boxes[:, None, :2]) / wh
    vis = (kps[..., 2] > 0)[..., None]
    count = vis.sum(0)
    if (count == 0).any():
        raise ValueError(f'mean_pose: keypoints {np.where(count[:, 0] == 0)[0].tolist()} are '
                         f'never labelled in the reference set')
    return (rel * vis).sum(0) / count


def place_pose(pose: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(N, K, 2) the relative ``pose`` (K, 2) placed in each of ``boxes`` (N, 4)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    wh = boxes[:, 2:] - boxes[:, :2]
    return boxes[:, None, :2] + np.asarray(pose, np.float64)[None] * wh[:, None]


def oks(pred_xy: np.ndarray, gt_keypoints: np.ndarray, areas: np.ndarray,
        sigmas: Sequence[float]) -> np.ndarray:
    """(N, ) COCO OKS of predictions (N, K, 2) against GT (N, K, 3), labelled keypoints only."""
    gt = np.asarray(gt_keypoints, np.float64)
    d2 = ((np.asarray(pred_xy, np.float64) - gt[..., :2]) ** 2).sum(-1)
    var = (2 * np.asarray(sigmas, np.float64)) ** 2
    e = d2 / var[None] / (np.asarray(areas, np.float64)[:, None] + np.spacing(1)) / 2
    vis = gt[..., 2] > 0
    return (np.exp(-e) * vis).sum(1) / np.maximum(vis.sum(1), 1)


def summarize_errors(gt_boxes: np.ndarray, gt_keypoints: np.ndarray, areas: np.ndarray,
                     pred_xy: np.ndarray, prior_xy: np.ndarray,
                     sigmas: Sequence[float]) -> Dict[str, float]:
    """Medians over the matched instances: normalised error (per labelled keypoint) and OKS
    (per instance) of the model and of the prior, the share of instances with OKS >= 0.5 / 0.75,
    and the mean signed error in x and y (a systematic offset), all in units of the GT size."""
    gt = np.asarray(gt_keypoints, np.float64)
    size = box_scale(np.asarray(gt_boxes, np.float64).reshape(-1, 4))[:, None]
    vis = gt[..., 2] > 0
    out = dict(instances=float(len(gt)), keypoints=float(vis.sum()))
    for name, xy in (('model', pred_xy), ('prior', prior_xy)):
        xy = np.asarray(xy, np.float64)
        err = np.linalg.norm(xy - gt[..., :2], axis=-1) / size
        o = oks(xy, gt, areas, sigmas)
        out[f'{name}_median_error'] = float(np.median(err[vis]))
        out[f'{name}_median_oks'] = float(np.median(o))
        out[f'{name}_oks_ge_0.5'] = float((o >= 0.5).mean())
        out[f'{name}_oks_ge_0.75'] = float((o >= 0.75).mean())
        signed = (xy - gt[..., :2]) / size[..., None]
        out[f'{name}_mean_dx'] = float(signed[..., 0][vis].mean())
        out[f'{name}_mean_dy'] = float(signed[..., 1][vis].mean())
    return out
