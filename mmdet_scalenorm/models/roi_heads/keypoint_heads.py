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

:class:`KeypointRCNNHead` (Mask R-CNN §3 "Implementation Details: keypoint detection"; Detectron2
``KRCNNConvDeconvUpsampleHead`` / ``keypoint_rcnn_loss`` / ``heatmaps_to_keypoints``): 14x14 RoI
features, 8 conv3x3 (512 channels) + ReLU, ConvTranspose 4x4 stride 2 to K channels, bilinear 2x
upsampling: 56x56 logits.  Loss: cross-entropy of the spatial softmax (56*56 classes) against the
keypoint's cell, summed over target keypoints and divided by their number in the batch
(``normalize_by_visible_keypoints``).  Decoding: each RoI's map is resized (bicubic) to the
box size rounded up, the argmax pixel's centre (+0.5) is the keypoint, the score is the spatial
softmax probability there normalised over the 56x56 map (Detectron2's ``[0, 1, 3]`` output).

:class:`ISNKeypointHead` (ISN §4.3.2, the light kps head): 22x16 (H x W) RoI features, 8 conv3x3
of 256 channels + ReLU, no deconv; a 1x1 conv predicts 3K maps at 22x16: K heatmaps ("whether each
position is in the vicinity of the keypoint") and K 2-D offsets (as Papandreou et al. [21]), both
trained with smooth-L1 "severally".  Target choices the paper leaves open, stated here:
the heatmap target is 1 on the keypoint's cell and on every cell whose centre lies within
``pos_radius`` cells of the keypoint ([21]'s disk; ``pos_radius=0`` keeps the cell alone), 0
elsewhere; the offset target on those positive cells is ``keypoint - cell centre`` in cell units.
The heatmap loss is summed over the cells of each target keypoint and divided by the number of
target keypoints (the normalisation of the Mask R-CNN head); the offset loss is summed over the
positive cells (both coordinates) and divided by their number.  Decoding: argmax cell + its
offset.  Output channel layout: ``[0, K)`` heatmaps, ``K + 2k`` / ``K + 2k + 1`` the x / y offset
of keypoint ``k``.  The heatmaps are raw regression
outputs (no sigmoid: smooth-L1 against 0/1), so a decoded score is the heatmap value, ~1 at a
confident keypoint and not clamped to [0, 1].
"""
from typing import Dict, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule, kaiming_init
from torch import Tensor, nn

from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig

__all__ = ['keypoints_to_cells', 'rescale_keypoints', 'BaseKeypointHead', 'KeypointRCNNHead',
           'ISNKeypointHead']


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


@MODELS.register_module()
class KeypointRCNNHead(BaseKeypointHead):
    """Mask R-CNN keypoint head: 14x14 features -> K heatmaps of 56x56 (see the module docstring).

    Args:
        num_keypoints (int): K. Defaults to 17 (COCO person).
        in_channels (int): RoI feature channels. Defaults to 256.
        roi_feat_size (int): RoI feature size. Defaults to 14.
        num_convs (int): conv3x3 + ReLU layers. Defaults to 8.
        conv_out_channels (int): Their channels. Defaults to 512.
        deconv_kernel_size (int): ConvTranspose kernel (stride 2). Defaults to 4.
        up_scale (int): Bilinear upsampling factor after the deconv. Defaults to 2.
        loss_keypoint (dict): Spatial-softmax loss, called with ``(logits (M, H*W), cell (M,),
            avg_factor=M)`` for the M target keypoints. Defaults to ``CrossEntropyLoss``.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self, num_keypoints: int = 17, in_channels: int = 256, roi_feat_size: int = 14,
                 num_convs: int = 8, conv_out_channels: int = 512, deconv_kernel_size: int = 4,
                 up_scale: int = 2,
                 loss_keypoint: ConfigType = dict(
                     type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(num_keypoints, roi_feat_size, init_cfg=init_cfg)
        self.up_scale = int(up_scale)
        self.convs = nn.ModuleList()
        for i in range(num_convs):
            self.convs.append(ConvModule(in_channels if i == 0 else conv_out_channels,
                                         conv_out_channels, 3, padding=1,
                                         act_cfg=dict(type='ReLU')))
        self.deconv = nn.ConvTranspose2d(conv_out_channels if num_convs else in_channels,
                                         self.num_keypoints, deconv_kernel_size, stride=2,
                                         padding=deconv_kernel_size // 2 - 1)
        h, w = self.roi_feat_size
        self.heatmap_size = (h * 2 * self.up_scale, w * 2 * self.up_scale)
        self.loss_keypoint = MODELS.build(loss_keypoint)

    def init_weights(self) -> None:
        """Detectron2's init: kaiming-normal (fan_out, relu) convs and deconv, zero biases."""
        super().init_weights()
        kaiming_init(self.deconv, mode='fan_out', nonlinearity='relu', distribution='normal')

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, 14, 14) RoI features -> (N, K, 56, 56) heatmap logits."""
        for conv in self.convs:
            x = conv(x)
        x = self.deconv(x)
        return F.interpolate(x, scale_factor=self.up_scale, mode='bilinear', align_corners=False)

    def get_targets(self, rois: Tensor, gt_keypoints: Tensor) -> Tuple[Tensor, Tensor]:
        """Flat cell index ``row * W + col`` (N, K) and the ``valid`` (N, K) mask."""
        self.check_gt_keypoints(gt_keypoints, rois)
        col, row, valid, _ = keypoints_to_cells(gt_keypoints, rois, self.heatmap_size)
        return row * self.heatmap_size[1] + col, valid

    def loss_and_target(self, keypoint_preds: Tensor, rois: Tensor,
                        gt_keypoints: Tensor) -> Dict[str, dict]:
        """Cross-entropy over the 56*56 positions per target keypoint, mean over them.

        Args:
            keypoint_preds (Tensor): (N, K, H, W) logits of the positive RoIs.
            rois (Tensor): (N, 4) the RoIs (current-image pixels).
            gt_keypoints (Tensor): (N, K, 3) their assigned GT keypoints.

        Returns:
            dict: ``loss_keypoint`` (dict with key ``loss_keypoint``) and ``keypoint_targets``
            (the flat cell indices and ``valid`` mask).
        """
        targets, valid = self.get_targets(rois, gt_keypoints)
        num_valid = int(valid.sum())
        if num_valid == 0:
            loss = keypoint_preds.sum() * 0  # keeps the graph, never NaN
        else:
            logits = keypoint_preds.flatten(2)[valid]  # (M, H*W)
            loss = self.loss_keypoint(logits, targets[valid], avg_factor=num_valid)
        return dict(loss_keypoint=dict(loss_keypoint=loss),
                    keypoint_targets=(targets, valid))

    def decode(self, preds: Tensor, bboxes: Tensor) -> Tensor:
        """Detectron2 ``heatmaps_to_keypoints`` (module docstring), returning (x, y, prob)."""
        x1, y1 = bboxes[:, 0], bboxes[:, 1]
        widths = (bboxes[:, 2] - x1).clamp(min=1)
        heights = (bboxes[:, 3] - y1).clamp(min=1)
        widths_ceil, heights_ceil = widths.ceil(), heights.ceil()
        k = self.num_keypoints
        ks = torch.arange(k, device=preds.device)
        out = preds.new_zeros((bboxes.shape[0], k, 3))
        for i in range(bboxes.shape[0]):
            size = (int(heights_ceil[i]), int(widths_ceil[i]))
            roi_map = F.interpolate(preds[i:i + 1], size=size, mode='bicubic',
                                    align_corners=False)[0]  # (K, h, w)
            max_score = roi_map.flatten(1).max(1)[0].view(k, 1, 1)
            # scores over the box-size map, normalised over the pooled map (Detectron2)
            scores = (roi_map - max_score).exp() / \
                (preds[i] - max_score).exp().sum((1, 2), keepdim=True)
            pos = roi_map.flatten(1).argmax(1)
            col = pos % size[1]
            row = torch.div(pos, size[1], rounding_mode='floor')
            out[i, :, 0] = (col.float() + 0.5) * (widths[i] / widths_ceil[i]) + x1[i]
            out[i, :, 1] = (row.float() + 0.5) * (heights[i] / heights_ceil[i]) + y1[i]
            out[i, :, 2] = scores[ks, row, col]
        return out


@MODELS.register_module()
class ISNKeypointHead(BaseKeypointHead):
    """ISN light keypoint head (ISN §4.3.2): 22x16 features -> K heatmaps + K 2-D offsets.

    Args:
        num_keypoints (int): K. Defaults to 17 (COCO person).
        in_channels (int): RoI feature channels. Defaults to 256.
        roi_feat_size (tuple[int, int]): ``(H, W)``. Defaults to (22, 16), "to better
            approximate person's shape".
        num_convs (int): conv3x3 + ReLU layers. Defaults to 8.
        conv_out_channels (int): Their channels. Defaults to 256 (reduced from 512).
        pos_radius (float): Heatmap-positive disk radius in cells (module docstring).
            Defaults to 1.0; the paper gives no value.
        loss_heatmap (dict): Defaults to ``SmoothL1Loss(beta=1.0, loss_weight=1.0)``.
        loss_offset (dict): Defaults to ``SmoothL1Loss(beta=1.0, loss_weight=1.0)``.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self, num_keypoints: int = 17, in_channels: int = 256,
                 roi_feat_size: Tuple[int, int] = (22, 16), num_convs: int = 8,
                 conv_out_channels: int = 256, pos_radius: float = 1.0,
                 loss_heatmap: ConfigType = dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0),
                 loss_offset: ConfigType = dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(num_keypoints, roi_feat_size, init_cfg=init_cfg)
        if not float(pos_radius) >= 0:
            raise ValueError(f'ISNKeypointHead: pos_radius must be >= 0 cells, got {pos_radius!r}')
        self.pos_radius = float(pos_radius)
        self.convs = nn.ModuleList()
        for i in range(num_convs):
            self.convs.append(ConvModule(in_channels if i == 0 else conv_out_channels,
                                         conv_out_channels, 3, padding=1,
                                         act_cfg=dict(type='ReLU')))
        self.predictor = nn.Conv2d(conv_out_channels if num_convs else in_channels,
                                   3 * self.num_keypoints, 1)
        self.heatmap_size = self.roi_feat_size
        self.loss_heatmap = MODELS.build(loss_heatmap)
        self.loss_offset = MODELS.build(loss_offset)

    def init_weights(self) -> None:
        """Kaiming convs (ConvModule); the 1x1 predictor normal(std=0.001), zero bias."""
        super().init_weights()
        nn.init.normal_(self.predictor.weight, std=0.001)
        nn.init.zeros_(self.predictor.bias)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, 22, 16) RoI features -> (N, 3K, 22, 16) heatmaps then x/y offsets."""
        for conv in self.convs:
            x = conv(x)
        return self.predictor(x)

    def split_preds(self, preds: Tensor) -> Tuple[Tensor, Tensor]:
        """(N, 3K, H, W) -> heatmaps (N, K, H, W) and offsets (N, K, 2, H, W)."""
        n, _, h, w = preds.shape
        k = self.num_keypoints
        return preds[:, :k], preds[:, k:].reshape(n, k, 2, h, w)

    def get_targets(self, rois: Tensor, gt_keypoints: Tensor) -> Dict[str, Tensor]:
        """Heatmap target/weight (N, K, H, W), offset target/weight (N, K, 2, H, W), ``valid``."""
        self.check_gt_keypoints(gt_keypoints, rois)
        h, w = self.heatmap_size
        col, row, valid, uv = keypoints_to_cells(gt_keypoints, rois, self.heatmap_size)
        cy = torch.arange(h, device=rois.device, dtype=uv.dtype) + 0.5
        cx = torch.arange(w, device=rois.device, dtype=uv.dtype) + 0.5
        dx = uv[..., 0, None, None] - cx.view(1, 1, 1, w)  # (N, K, 1, W)
        dy = uv[..., 1, None, None] - cy.view(1, 1, h, 1)  # (N, K, H, 1)
        dx, dy = torch.broadcast_tensors(dx, dy)
        own = (torch.arange(w, device=rois.device).view(1, 1, 1, w) == col[..., None, None]) & \
            (torch.arange(h, device=rois.device).view(1, 1, h, 1) == row[..., None, None])
        pos = (own | (dx ** 2 + dy ** 2 <= self.pos_radius ** 2)) & valid[..., None, None]
        heatmap_weight = valid[..., None, None].expand_as(pos).to(uv.dtype)
        return dict(heatmap_target=pos.to(uv.dtype), heatmap_weight=heatmap_weight,
                    offset_target=torch.stack([dx, dy], dim=2),
                    offset_weight=pos[:, :, None].expand(-1, -1, 2, -1, -1).to(uv.dtype),
                    valid=valid)

    def loss_and_target(self, keypoint_preds: Tensor, rois: Tensor,
                        gt_keypoints: Tensor) -> Dict[str, dict]:
        """Smooth-L1 on heatmaps (per target keypoint) and offsets (per positive cell).

        Args:
            keypoint_preds (Tensor): (N, 3K, H, W) output of the positive RoIs.
            rois (Tensor): (N, 4) the RoIs (current-image pixels).
            gt_keypoints (Tensor): (N, K, 3) their assigned GT keypoints.

        Returns:
            dict: ``loss_keypoint`` (dict with ``loss_kpt_heatmap`` and ``loss_kpt_offset``)
            and ``keypoint_targets`` (the dict of :meth:`get_targets`).
        """
        t = self.get_targets(rois, gt_keypoints)
        heatmaps, offsets = self.split_preds(keypoint_preds)
        num_valid = int(t['valid'].sum())
        if num_valid == 0:  # keeps the graph, never NaN
            loss_hm = heatmaps.sum() * 0
            loss_off = offsets.sum() * 0
        else:
            loss_hm = self.loss_heatmap(heatmaps, t['heatmap_target'], t['heatmap_weight'],
                                        avg_factor=num_valid)
            num_pos = int(t['heatmap_target'].sum())
            loss_off = self.loss_offset(offsets, t['offset_target'], t['offset_weight'],
                                        avg_factor=num_pos)
        return dict(loss_keypoint=dict(loss_kpt_heatmap=loss_hm, loss_kpt_offset=loss_off),
                    keypoint_targets=t)

    def decode(self, preds: Tensor, bboxes: Tensor) -> Tensor:
        """Argmax cell + its offset, in box pixels; score = the heatmap value there."""
        heatmaps, offsets = self.split_preds(preds)
        n, k, h, w = heatmaps.shape
        score, pos = heatmaps.flatten(2).max(2)  # (N, K)
        col = (pos % w).to(preds.dtype)
        row = torch.div(pos, w, rounding_mode='floor').to(preds.dtype)
        off = offsets.flatten(3).gather(3, pos[:, :, None, None].expand(n, k, 2, 1))[..., 0]
        cell_w = ((bboxes[:, 2] - bboxes[:, 0]) / w)[:, None]
        cell_h = ((bboxes[:, 3] - bboxes[:, 1]) / h)[:, None]
        x = bboxes[:, 0:1] + (col + 0.5 + off[..., 0]) * cell_w
        y = bboxes[:, 1:2] + (row + 0.5 + off[..., 1]) * cell_h
        return torch.stack([x, y, score], dim=-1)
