"""Draw predicted keypoints and their skeleton over a visualizer's image (Keypoint R-CNN demo).

mmdet 3.x's ``DetLocalVisualizer`` draws boxes, labels and masks but no keypoints.
:func:`draw_keypoints` adds them on top of its drawing with the visualizer's own primitives
(``draw_lines`` for the skeleton, ``draw_circles`` for the points), the rule of Detectron2's
``Visualizer.draw_and_connect_keypoints``:

* an instance is drawn when its box score is at least ``score_thr`` and (when ``labels`` is given)
  its label is one of ``labels`` (the classes with keypoints: Keypoint R-CNN predicts keypoints for
  every box, but only those classes have them);
* a keypoint is drawn when its score (the third column of ``pred_instances.keypoints``, the
  keypoint data contract) is above ``keypoint_thr`` (Detectron2's 0.05);
* a skeleton edge (0-based pair of keypoint indices, the dataset metainfo's ``skeleton``) is drawn
  when both of its keypoints are.

Usage, after ``visualizer.add_datasample(name, img, result, draw_gt=False, out_file=None)``::

    drawn = draw_keypoints(visualizer, result.pred_instances, skeleton, labels=[4])
    mmcv.imwrite(drawn[..., ::-1], out_file)
"""
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.structures import InstanceData
from mmengine.visualization import Visualizer

__all__ = ['draw_keypoints']

Color = Tuple[int, int, int]


def _numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def draw_keypoints(visualizer: Visualizer, instances: InstanceData,
                   skeleton: Sequence[Sequence[int]], labels: Optional[Sequence[int]] = None,
                   score_thr: float = 0.3, keypoint_thr: float = 0.05,
                   radius: Optional[float] = None, line_color: Color = (255, 255, 0),
                   point_color: Color = (255, 0, 0)) -> np.ndarray:
    """Draw the keypoints and skeleton of ``instances`` over ``visualizer``'s current image.

    Args:
        visualizer: A visualizer holding the image to draw on (``set_image`` or
            ``add_datasample`` was called).
        instances: ``pred_instances`` with ``keypoints`` (N, K, 3) = (x, y, score) in the image's
            pixels, ``scores`` (N,) and ``labels`` (N,).
        skeleton: 0-based keypoint index pairs joined by a line.
        labels: Labels whose instances are drawn; None draws every label.
        score_thr: Minimum box score of a drawn instance.
        keypoint_thr: A keypoint is drawn when its score is above this.
        radius: Point radius in pixels; default ``max(1.5, 0.005 * max(H, W))``.
        line_color: RGB of the skeleton lines.
        point_color: RGB of the keypoints.

    Returns:
        np.ndarray: The drawn image (RGB, ``visualizer.get_image()``).

    Raises:
        ValueError: ``keypoints`` missing or not (N, K, 3), or a skeleton index outside 0..K-1.
    """
    if 'keypoints' not in instances:
        raise ValueError("draw_keypoints: instances have no 'keypoints' ((N, K, 3) x, y, score)")
    kps = _numpy(instances.keypoints).astype(np.float64)
    n = len(instances)
    if kps.ndim != 3 or kps.shape[0] != n or kps.shape[2] != 3:
        raise ValueError(f'draw_keypoints: keypoints must be (N, K, 3) with N = {n} instances; '
                         f'got {kps.shape}')
    k = kps.shape[1]
    pairs = np.asarray([[int(a), int(b)] for a, b in skeleton], dtype=np.int64).reshape(-1, 2)
    if ((pairs < 0) | (pairs >= k)).any():
        raise ValueError(f'draw_keypoints: skeleton {pairs.tolist()} has an index outside '
                         f'0..{k - 1} (K={k})')
    keep = _numpy(instances.scores) >= score_thr
    if labels is not None:
        keep &= np.isin(_numpy(instances.labels), list(labels))
    h, w = visualizer.get_image().shape[:2]
    r = max(1.5, 0.005 * max(h, w)) if radius is None else float(radius)
    xs, ys, points = [], [], []
    for inst in kps[keep]:
        shown = inst[:, 2] > keypoint_thr
        for a, b in pairs:
            if shown[a] and shown[b]:
                xs.append(inst[[a, b], 0])
                ys.append(inst[[a, b], 1])
        points.append(inst[shown, :2])
    if xs:
        visualizer.draw_lines(np.stack(xs), np.stack(ys), colors=[line_color],
                              line_widths=max(1.0, r / 2))
    centers = np.concatenate(points) if points else np.zeros((0, 2))
    if len(centers):
        before = len(visualizer.ax_save.collections)
        visualizer.draw_circles(centers, np.full(len(centers), r), edge_colors=[point_color],
                                face_colors=[point_color], alpha=1.0, line_widths=1)
        if len(visualizer.ax_save.collections) > before:
            # points over the lines: matplotlib puts patches (zorder 1) below lines (zorder 2)
            visualizer.ax_save.collections[-1].set_zorder(3)
    return visualizer.get_image()
