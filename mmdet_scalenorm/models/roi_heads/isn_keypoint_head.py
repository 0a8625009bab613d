"""``ISNKeypointHead``: ISN's light keypoint head (the cell rule is in :mod:`.keypoint_heads`).

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
from typing import Dict, Tuple

import torch
from mmcv.cnn import ConvModule
from torch import Tensor, nn

from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig

from .keypoint_heads import BaseKeypointHead, keypoints_to_cells

__all__ = ['ISNKeypointHead']


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
