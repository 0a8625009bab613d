"""``ResizeToChipScale``: resize an image to the pyramid factor chosen by ``ChipDataset``.

SNIPER / ISN §3.3.1 train on chips cut from an image pyramid: the image is resized by a factor
``omega_i`` of the set ``Omega`` (ISN: {4, 2, 1, 0.5, 0.25}) and a ``chip_size`` chip of that
resized image is kept.  ``ChipDataset`` picks the (image, factor, chip) triple and writes
``results['chip_scale_factor']`` (the factor) and ``results['chip']`` (xyxy, in pixels of the image
resized by that factor); this transform performs the resize so the rest of the pipeline
(``MarkValidRange`` -> ``SampleChip`` -> ...) is the same as without the dataset wrapper.

Sizes: the resized image is ``(W_s, H_s) = (int(w * f + 0.5), int(h * f + 0.5))`` (mmcv's
``_scale_size`` rule, at least 1 pixel), and ``scale_factor = (W_s / w, H_s / h)``, exactly what
mmdet's ``Resize(scale=(W_s, H_s), keep_ratio=False)`` does.  ``ChipDataset`` enumerates chips in
the same pixel grid, with the GT boxes this transform produces
(:func:`mmdet_scalenorm.chips.resize_boxes`: float32 boxes times float32 ``(sx, sy)``, clipped when
``clip_object_border``), so both measure a GT on the same float32 numbers.

Chip-only resize (``crop_to_chip=True``, the default): at factor 4 most of the resized image is
thrown away by ``SampleChip``.  When ``results['chip']`` is present, only the pixels of the window
``chip ∩ [0, W_s] x [0, H_s]`` (rounded outwards to whole pixels) are computed; the rest of the
``H_s x W_s`` image stays zero.  The zero image is allocated with ``np.zeros`` (calloc: pages nobody
writes are never touched), so the cost is that of the chip, not of the whole resized image.  Window
pixels come from an affine warp that samples the source at exactly the positions ``cv2.resize``
uses (``src = (dst + 0.5) / s - 0.5``, replicated border), equal to the plain path's to within 1
grey level (fixed-point rounding); bitmap masks and ``gt_seg_map`` use ``cv2.resize``'s
nearest-neighbour index rule (``src = floor(dst / s)``) and are identical inside the window.
Everything else is exactly the plain path: ``img_shape = (H_s, W_s)``, ``scale_factor``, boxes
(rescaled, clipped to the resized image), polygons, keypoints, ``homography_matrix`` and
``results['chip']`` are unchanged in meaning and value, so ``MarkValidRange`` and ``SampleChip``
(including its ``min_overlap`` rule for GT cut by the chip border) give the same result.  The one
requirement: ``SampleChip`` (which keeps only the chip) must come before any transform that reads
pixels outside the chip (flip, colour jitter ...), as in the ChipDataset pipeline.
``results['chip_resized_window']`` records the window that holds image content, ``(x1, y1, x2, y2)``
in resized pixels (the whole image on the plain path).

When the window is the whole resized image, no chip is given, ``crop_to_chip=False`` or
``backend='pillow'``, the transform is exactly mmdet's
``Resize(scale=(W_s, H_s), keep_ratio=False)`` (plus keypoint scaling, which mmdet's ``Resize``
does not do: x, y times ``scale_factor``, visibility kept, never clipped).
"""
from __future__ import annotations

import math

import cv2
import numpy as np
from mmcv.image.geometric import cv2_interp_codes
from mmdet.datasets.transforms import Resize
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import autocast_box_type
from mmdet.structures.mask import BitmapMasks

from ...chips import resized_size

__all__ = ['ResizeToChipScale']


def _nearest_index(start: int, length: int, inv_scale: float, src_len: int) -> np.ndarray:
    """Source indices ``cv2.resize(INTER_NEAREST)`` reads for ``length`` pixels from ``start``."""
    idx = np.floor((start + np.arange(length)) * inv_scale).astype(np.int64)
    return np.minimum(np.maximum(idx, 0), src_len - 1)


@TRANSFORMS.register_module()
class ResizeToChipScale(Resize):
    """Resize by ``results['chip_scale_factor']`` (SNIPER chips, ISN §3.3.1), chip window only.

    Args:
        crop_to_chip (bool): compute only the chip window of the resized image when
            ``results['chip']`` is present (see the module docstring). Defaults to True.
        clip_object_border (bool): as mmdet's ``Resize`` (boxes clipped to the full resized image).
        backend (str): 'cv2' or 'pillow' (pillow always takes the plain path).
        interpolation (str): image interpolation, as mmdet's ``Resize``. Defaults to 'bilinear'.
    """

    def __init__(self,
                 crop_to_chip: bool = True,
                 clip_object_border: bool = True,
                 backend: str = 'cv2',
                 interpolation: str = 'bilinear') -> None:
        if not isinstance(crop_to_chip, bool):
            raise ValueError(f'crop_to_chip must be True or False; got {crop_to_chip!r}')
        if backend not in ('cv2', 'pillow'):
            raise ValueError(f"backend must be 'cv2' or 'pillow'; got {backend!r}")
        if backend == 'cv2' and interpolation not in cv2_interp_codes:
            raise ValueError(f'interpolation must be one of {sorted(cv2_interp_codes)}; '
                             f'got {interpolation!r}')
        # `scale` is set per call from the factor; keep_ratio=False resizes to exactly (W_s, H_s).
        super().__init__(scale=None, scale_factor=1.0, keep_ratio=False,
                         clip_object_border=clip_object_border, backend=backend,
                         interpolation=interpolation)
        self.scale = None
        self.crop_to_chip = crop_to_chip

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _factor(results: dict) -> float:
        if 'chip_scale_factor' not in results:
            raise KeyError("ResizeToChipScale needs results['chip_scale_factor'] (the pyramid "
                           'factor, set by ChipDataset before the pipeline runs)')
        f = results['chip_scale_factor']
        try:
            f = float(f)
        except (TypeError, ValueError):
            f = math.nan
        if not (math.isfinite(f) and f > 0):
            raise ValueError("results['chip_scale_factor'] must be a finite number > 0; got "
                             f"{results['chip_scale_factor']!r}")
        return f

    @staticmethod
    def target_size(width: int, height: int, factor: float):
        """``(W_s, H_s)`` of a ``width x height`` image resized by ``factor`` (mmcv's rounding;
        :func:`mmdet_scalenorm.chips.resized_size`, the size ``ChipDataset`` enumerates in)."""
        return resized_size(width, height, factor)

    def _window(self, results: dict, full_w: int, full_h: int):
        """Integer window ``(X1, Y1, X2, Y2)`` of the resized image to compute, or None (plain)."""
        chip = results.get('chip', None)
        if not self.crop_to_chip or chip is None or self.backend != 'cv2':
            return None
        chip = np.asarray(chip, dtype=np.float64).reshape(-1)
        if chip.shape[0] != 4 or not np.all(np.isfinite(chip)):
            return None
        x1 = int(np.clip(math.floor(chip[0]), 0, full_w))
        y1 = int(np.clip(math.floor(chip[1]), 0, full_h))
        x2 = int(np.clip(math.ceil(chip[2]), 0, full_w))
        y2 = int(np.clip(math.ceil(chip[3]), 0, full_h))
        if x2 <= x1 or y2 <= y1:
            return None  # chip outside the image: let the plain path and SampleChip handle it
        if (x1, y1, x2, y2) == (0, 0, full_w, full_h):
            return None
        return x1, y1, x2, y2

    def _scale_keypoints(self, results: dict) -> None:
        kps = results.get('gt_keypoints', None)
        if kps is None:
            return
        kps = np.array(kps, dtype=np.float32, copy=True)
        sx, sy = results['scale_factor']
        kps[..., 0] = kps[..., 0] * sx
        kps[..., 1] = kps[..., 1] * sy
        results['gt_keypoints'] = kps

    # ---------------------------------------------------------------- transform
    @autocast_box_type()
    def transform(self, results: dict) -> dict:
        f = self._factor(results)
        h, w = results['img'].shape[:2]
        full_w, full_h = self.target_size(w, h, f)
        results['scale'] = (full_w, full_h)
        window = self._window(results, full_w, full_h)
        if window is None:
            self._resize_img(results)
            self._resize_bboxes(results)
            self._resize_masks(results)
            self._resize_seg(results)
            self._record_homography_matrix(results)
            self._scale_keypoints(results)
            results['chip_resized_window'] = (0, 0, full_w, full_h)
            return results
        self._crop_resize(results, window, w, h, full_w, full_h)
        return results

    def _crop_resize(self, results, window, w, h, full_w, full_h) -> None:
        """Resize only ``window`` of the ``full_w x full_h`` image; zeros elsewhere (see above)."""
        x1, y1, x2, y2 = window
        ww, wh = x2 - x1, y2 - y1
        sx, sy = full_w / w, full_h / h
        img = results['img']
        m = np.array([[1.0 / sx, 0.0, (x1 + 0.5) / sx - 0.5],
                      [0.0, 1.0 / sy, (y1 + 0.5) / sy - 0.5]], dtype=np.float64)
        patch = cv2.warpAffine(img, m, (ww, wh),
                               flags=cv2_interp_codes[self.interpolation] | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REPLICATE)
        out = np.zeros((full_h, full_w) + img.shape[2:], dtype=img.dtype)
        out[y1:y2, x1:x2] = patch.reshape((wh, ww) + img.shape[2:])
        results['img'] = out
        results['img_shape'] = out.shape[:2]
        results['scale_factor'] = (sx, sy)
        results['keep_ratio'] = False

        self._resize_bboxes(results)

        # Nearest-neighbour source indices of the window, exactly cv2.resize's INTER_NEAREST rule.
        if results.get('gt_masks', None) is not None or results.get('gt_seg_map') is not None:
            cols = _nearest_index(x1, ww, 1.0 / sx, w)
            rows = _nearest_index(y1, wh, 1.0 / sy, h)
        masks = results.get('gt_masks', None)
        if isinstance(masks, BitmapMasks):
            arr = np.zeros((len(masks), full_h, full_w), dtype=masks.masks.dtype)
            if len(masks):
                arr[:, y1:y2, x1:x2] = masks.masks[:, rows[:, None], cols[None, :]]
            # BitmapMasks(arr, ...) would np.stack (copy) the whole, mostly untouched, array.
            new_masks = BitmapMasks([], full_h, full_w)
            new_masks.masks = arr
            results['gt_masks'] = new_masks
        elif masks is not None:
            self._resize_masks(results)  # PolygonMasks: cheap, exact
        seg = results.get('gt_seg_map', None)
        if seg is not None:
            new_seg = np.zeros((full_h, full_w) + seg.shape[2:], dtype=seg.dtype)
            new_seg[y1:y2, x1:x2] = seg[rows[:, None], cols[None, :]]
            results['gt_seg_map'] = new_seg

        self._scale_keypoints(results)
        self._record_homography_matrix(results)
        results['chip_resized_window'] = (x1, y1, x2, y2)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_to_chip={self.crop_to_chip}, '
                f'clip_object_border={self.clip_object_border}, backend={self.backend}, '
                f'interpolation={self.interpolation})')
