"""``KeypointRCNNHead``: Mask R-CNN's keypoint head (the cell rule is in :mod:`.keypoint_heads`).

:class:`KeypointRCNNHead` (Mask R-CNN §3 "Implementation Details: keypoint detection"; Detectron2
``KRCNNConvDeconvUpsampleHead`` / ``keypoint_rcnn_loss`` / ``heatmaps_to_keypoints``): 14x14 RoI
features, 8 conv3x3 (512 channels) + ReLU, ConvTranspose 4x4 stride 2 to K channels, bilinear 2x
upsampling: 56x56 logits.  Loss: cross-entropy of the spatial softmax (56*56 classes) against the
keypoint's cell, summed over target keypoints and divided by their number in the batch
(``normalize_by_visible_keypoints``).  Decoding: each RoI's map is resized (bicubic) to the
box size rounded up, the argmax pixel's centre (+0.5) is the keypoint, the score is the spatial
softmax probability there normalised over the 56x56 map (Detectron2's ``[0, 1, 3]`` output).
"""
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import kaiming_init
from torch import Tensor, nn

from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig

from .keypoint_heads import BaseKeypointHead, keypoints_to_cells

__all__ = ['KeypointRCNNHead']


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
        max_decode_size (int, optional): Decoding resizes each heatmap to the box size
            (Detectron2); a box side above this many pixels is decoded on a map of this side
            instead, the keypoint placed at the same relative position (error at most half a
            box side / ``max_decode_size``: 0.2% of the box at 256). A 1000-px box costs ~0.5 s
            per detection on a CPU core at full size. ``None`` decodes at the full box size,
            exactly as Detectron2. Defaults to 256.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self, num_keypoints: int = 17, in_channels: int = 256, roi_feat_size: int = 14,
                 num_convs: int = 8, conv_out_channels: int = 512, deconv_kernel_size: int = 4,
                 up_scale: int = 2,
                 loss_keypoint: ConfigType = dict(
                     type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                 max_decode_size: Optional[int] = 256,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(num_keypoints, roi_feat_size, init_cfg=init_cfg)
        if max_decode_size is not None and (isinstance(max_decode_size, bool) or
                                            not isinstance(max_decode_size, int) or
                                            max_decode_size < 1):
            raise ValueError(f'max_decode_size must be an int >= 1 or None; got '
                             f'{max_decode_size!r}')
        self.max_decode_size = max_decode_size
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
        if self.max_decode_size is not None:
            widths_ceil = widths_ceil.clamp(max=self.max_decode_size)
            heights_ceil = heights_ceil.clamp(max=self.max_decode_size)
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
