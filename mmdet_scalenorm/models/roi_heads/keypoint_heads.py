"""Keypoint R-CNN heads: Mask R-CNN's heatmap head and ISN's light heatmap + offset head.

Both heads read RoI features of the positive RoIs / detected boxes and predict, per keypoint
type, a map over a grid laid on the box (``out_h x out_w`` cells).  They share the cell rule:

* Cell of a keypoint (Detectron2 ``keypoints_to_heatmap``, generalised to ``H x W`` grids):
  with the box ``(x1, y1, x2, y2)``, ``u = (x - x1) * W / (x2 - x1)`` and
  ``v = (y - y1) * H / (y2 - y1)``; the cell is ``(floor(u), floor(v))``, except that a point
  exactly on the right (bottom) border goes to the last column (row).  The keypoint is a target
  only if ``v_label > 0`` (labelled, visible or not) and its cell lies inside the grid; every
  other keypoint is ignored (weight 0).
* Output keypoints are ``(x, y, score)`` in the pixels of the boxes given (the current image);
  :meth:`BaseKeypointHead.predict_by_feat` divides x and y by ``img_meta['scale_factor']`` when
  ``rescale`` is set, as mmdet rescales boxes.

The heads: :mod:`.keypoint_rcnn_head` (Mask R-CNN) and :mod:`.isn_keypoint_head` (ISN §4.3.2).
"""
from typing import Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor

from mmdet.utils import OptMultiConfig

__all__ = ['keypoints_to_cells', 'rescale_keypoints', 'BaseKeypointHead']



def keypoints_to_cells(keypoints: Tensor, rois: Tensor,
                       out_size: Tuple[int, int]) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Cell of each keypoint in the ``out_h x out_w`` grid of its RoI (Detectron2 rule).

    Args:
        keypoints (Tensor): (N, K, 3) ``(x, y, v)`` in the pixels of ``rois``.
        rois (Tensor): (N, 4) boxes ``(x1, y1, x2, y2)``.
        out_size (tuple[int, int]): ``(out_h, out_w)``.

    Returns:
        tuple[Tensor, Tensor, Tensor, Tensor]: ``col`` and ``row`` (N, K) long cell indices,
        ``valid`` (N, K) bool (``v > 0`` and the cell inside the grid) and ``uv`` (N, K, 2) the
        keypoint in continuous cell units (``(u, v)``; cell ``(c, r)`` spans
        ``[c, c+1) x [r, r+1)``).
    """
    out_h, out_w = out_size
    x1, y1 = rois[:, 0:1], rois[:, 1:2]
    x2, y2 = rois[:, 2:3], rois[:, 3:4]
    tiny = torch.finfo(rois.dtype).tiny
    u = (keypoints[..., 0] - x1) * (out_w / (x2 - x1).clamp(min=tiny))
    v = (keypoints[..., 1] - y1) * (out_h / (y2 - y1).clamp(min=tiny))
    col = u.floor().long()
    row = v.floor().long()
    col[keypoints[..., 0] == x2] = out_w - 1
    row[keypoints[..., 1] == y2] = out_h - 1
    inside = (col >= 0) & (row >= 0) & (col < out_w) & (row < out_h)
    valid = inside & (keypoints[..., 2] > 0)
    return col, row, valid, torch.stack([u, v], dim=-1)


def rescale_keypoints(keypoints: Tensor, scale_factor: Sequence[float]) -> Tensor:
    """(N, K, 3) keypoints from current-image to original-image pixels: ``x / sx``, ``y / sy``."""
    sx, sy = float(scale_factor[0]), float(scale_factor[1])
    out = keypoints.clone()
    out[..., 0] /= sx
    out[..., 1] /= sy
    return out


class BaseKeypointHead(BaseModule):
    """What both keypoint heads share: the GT check and the per-image prediction.

    Args:
        num_keypoints (int): K, the keypoint types.
        roi_feat_size (int or tuple[int, int]): RoI feature size ``(H, W)`` the head expects.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self, num_keypoints: int, roi_feat_size: Union[int, Tuple[int, int]],
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if int(num_keypoints) < 1:
            raise ValueError(f'{type(self).__name__}: num_keypoints must be >= 1, '
                             f'got {num_keypoints!r}')
        self.num_keypoints = int(num_keypoints)
        if isinstance(roi_feat_size, int):
            roi_feat_size = (roi_feat_size, roi_feat_size)
        self.roi_feat_size = tuple(int(s) for s in roi_feat_size)

    def check_gt_keypoints(self, gt_keypoints: Tensor, rois: Tensor) -> None:
        """Raise ``ValueError`` unless ``gt_keypoints`` is (len(rois), num_keypoints, 3)."""
        if gt_keypoints.dim() != 3 or gt_keypoints.shape[-1] != 3 or \
                gt_keypoints.shape[0] != rois.shape[0]:
            raise ValueError(f'{type(self).__name__}: GT keypoints must be (num_rois, K, 3) = '
                             f'({rois.shape[0]}, {self.num_keypoints}, 3), got '
                             f'{tuple(gt_keypoints.shape)}')
        if gt_keypoints.shape[1] != self.num_keypoints:
            raise ValueError(f'{type(self).__name__}: GT keypoints have {gt_keypoints.shape[1]} '
                             f'keypoints per instance, the head num_keypoints='
                             f'{self.num_keypoints}; set keypoint_head.num_keypoints to the '
                             "dataset's len(keypoint_names)")

    def decode(self, preds: Tensor, bboxes: Tensor) -> Tensor:
        """(N, K, 3) ``(x, y, score)`` in the pixels of ``bboxes`` from the head's output."""
        raise NotImplementedError

    def predict_by_feat(self, preds: Tensor, bboxes: Tensor, img_meta: dict,
                        rescale: bool = False) -> Tensor:
        """Keypoints of one image's boxes, in original-image pixels when ``rescale``.

        Args:
            preds (Tensor): The head's output for these boxes.
            bboxes (Tensor): (N, 4) boxes in current-image pixels (the RoIs of ``preds``).
            img_meta (dict): The image's metainfo (``scale_factor`` used when ``rescale``).
            rescale (bool): Divide x, y by ``img_meta['scale_factor']``.

        Returns:
            Tensor: (N, K, 3) float32 ``(x, y, score)``.
        """
        if bboxes.shape[0] == 0:
            return bboxes.new_zeros((0, self.num_keypoints, 3))
        kps = self.decode(preds.detach(), bboxes.detach())
        if rescale:
            if img_meta.get('scale_factor') is None:
                raise ValueError(f"{type(self).__name__}: rescale=True needs 'scale_factor' in "
                                 f"the metainfo of img_id={img_meta.get('img_id')!r}")
            kps = rescale_keypoints(kps, img_meta['scale_factor'])
        return kps
