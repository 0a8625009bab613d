"""``SampleChip``: crop one SNIPER chip of the current pyramid scale (SNIP §6.2, ISN §3.3.1).

Training at high resolution works on ``chip_size x chip_size`` chips that cover the valid objects
(positive chips, :func:`mmdet_scalenorm.chips.generate_chips`) plus a few negative chips mined from
proposals that no positive chip covers (SNIPER negative chip mining,
:func:`mmdet_scalenorm.chips.generate_negative_chips`).

Which chip (see notes/contracts):

* ``results['chip']`` present (xyxy, current-image pixels; set by ``ChipDataset``): that chip is
  cropped; ``chip_type`` is ``results['chip_type']`` when set, else ``'pos'`` if a valid (not
  ignored) GT survives the crop, else ``'neg'``.
* otherwise the positive chips are generated from the valid GT (not in ``gt_ignore_flags``) and,
  with a ``proposals_file``, up to ``neg_chips_per_image`` negative chips are drawn at random from
  the negative-chip pool of this image-scale.  With ``neg_prob=None`` (default) one chip is then
  drawn uniformly from positive + drawn negative chips, i.e. the mix a SNIPER epoch sees (every
  positive chip plus ``neg_chips_per_image`` negatives per image-scale); a float ``neg_prob``
  instead picks a negative chip with that probability whenever one exists (and always when no
  positive chip does).  Fallback when both sets are empty: if valid GT exist (all with a side
  larger than ``chip_size``), a chip centred on a random one ('pos'); otherwise a random grid
  window ('neg').
* Valid GT: not in ``gt_ignore_flags`` and :func:`mmdet_scalenorm.scale.valid_gt_mask` in
  ``results['valid_range']`` (set by ``MarkValidRange``; unbounded when absent), the package's one
  GT rule.  Every valid GT with sides at most ``chip_size`` lies inside some positive chip
  (:func:`~mmdet_scalenorm.chips.generate_chips`).

Proposals file (negative chips): see :func:`mmdet_scalenorm.chips.load_proposals`: a pickle or JSON
``{key: (K, 4|5) x1, y1, x2, y2[, score]}`` in **original-image** pixels, ``key`` = the image file's
basename, mmdet's ``'<dir>/<file>'`` or the ``img_id``; an image without an entry is a
``ValueError`` (give it an empty one).  The pool is
:func:`mmdet_scalenorm.chips.negative_chip_pool` (the rule ``ChipDataset`` uses too): proposals
scaled by ``results['scale_factor']``, clipped to the image, kept when valid in
``results['valid_range']`` (SNIPER uses the proposals of the scale's range), and not inside a
positive chip.

Cropping rules:

* The output is the part of the chip inside the image, a view of the input array (no copy).  An
  image smaller than the chip is therefore **not padded here and never stretched**: the batch
  collation (``DetDataPreprocessor``) pads it, or add mmdet's ``Pad(size=(chip_size, chip_size))``
  after this transform for fixed-size inputs.  ``img_shape`` is updated, ``scale_factor`` kept.
* GT whose box has no positive-area intersection with the crop (fully outside, degenerate or NaN)
  are dropped with their label, flag, mask, keypoints and instance id: they cannot touch any anchor
  of this chip.  GT cut by the border keep the clipped box and are marked ignored when less than
  ``min_overlap`` of their area inside the image remains inside the chip.  Crowd/invalid flags stay.
* Masks are cropped with their own ``.crop`` (BitmapMasks, PolygonMasks); ``gt_seg_map`` is cropped;
  ``gt_keypoints`` (N, K, 3) are translated and get visibility 0 when outside ``[0, w] x [0, h]`` of
  the crop; ``homography_matrix`` gets the translation.
"""
from __future__ import annotations

import os
from typing import Optional, Tuple

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import BaseBoxes

from ...chips import (_check_chip_args, candidate_starts, generate_chips, load_proposals,
                      lookup_proposals, negative_chip_pool)
from ...scale import UNBOUNDED, valid_gt_mask
from .keypoints import drop_outside_keypoints
from .valid_range import gt_boxes_numpy


@TRANSFORMS.register_module()
class SampleChip(BaseTransform):
    """Crop one positive or negative chip (SNIP §6.2, SNIPER chips; see the module docstring).

    Required keys: ``img``.  Optional: ``gt_bboxes``, ``gt_bboxes_labels``, ``gt_ignore_flags``,
    ``gt_masks``, ``gt_keypoints``, ``gt_seg_map``, ``gt_instances_ids``, ``chip``, ``chip_type``,
    ``valid_range``, ``scale_factor``, ``img_path``/``img_id`` (proposal lookup).
    Modified: ``img``, ``img_shape``, the GT keys.  Added: ``chip``, ``chip_type``.

    Args:
        chip_size (int): chip side in pixels. Default 512 (SNIPER's); ISN configs pass 576, the
            patch size of ISN training (ISN §4.2.4).
        stride (int): grid step of candidate chips, ``0 < stride < chip_size``. Default 32.
        min_overlap (float): in [0, 1]; a GT with less of its area inside the chip is ignored.
        neg_chips_per_image (int): >= 0, negative chips drawn per call from the proposal pool.
        proposals_file (str, optional): proposals for negative chip mining.
        neg_prob (float, optional): in [0, 1]; probability of a negative chip when one exists
            (None: uniform over positive + drawn negative chips).
    """

    def __init__(self, chip_size: int = 512, stride: int = 32, min_overlap: float = 0.5,
                 neg_chips_per_image: int = 2, proposals_file: Optional[str] = None,
                 neg_prob: Optional[float] = None) -> None:
        for key, val in (('chip_size', chip_size), ('stride', stride)):
            if isinstance(val, bool) or not isinstance(val, (int, np.integer)):
                raise ValueError(f'{key} must be a positive int; got {val!r}')
        _check_chip_args(chip_size, stride)
        if isinstance(min_overlap, bool) or not isinstance(min_overlap, (int, float)) or \
                not 0 <= min_overlap <= 1:
            raise ValueError(f'min_overlap must be a number in [0, 1]; got {min_overlap!r}')
        if isinstance(neg_chips_per_image, bool) or \
                not isinstance(neg_chips_per_image, (int, np.integer)) or neg_chips_per_image < 0:
            raise ValueError('neg_chips_per_image must be an int >= 0; got '
                             f'{neg_chips_per_image!r}')
        if proposals_file is not None and not isinstance(proposals_file, str):
            raise ValueError(f'proposals_file must be None or a path; got {proposals_file!r}')
        if neg_prob is not None and (isinstance(neg_prob, bool) or
                                     not isinstance(neg_prob, (int, float)) or
                                     not 0 <= neg_prob <= 1):
            raise ValueError(f'neg_prob must be None or a number in [0, 1]; got {neg_prob!r}')
        self.chip_size = int(chip_size)
        self.stride = int(stride)
        self.min_overlap = float(min_overlap)
        self.neg_chips_per_image = int(neg_chips_per_image)
        self.proposals_file = proposals_file
        self.neg_prob = neg_prob
        self._proposals = None
        if proposals_file is not None:
            if not os.path.isfile(proposals_file):
                raise ValueError(f'proposals_file: no such file {proposals_file!r}')

    # ---------------------------------------------------------------- chip choice
    def _valid_gt(self, results: dict) -> np.ndarray:
        """The valid GT boxes (their own dtype, as ``MarkValidRange`` reads them): not ignored,
        :func:`~mmdet_scalenorm.scale.valid_gt_mask` in ``results['valid_range']``."""
        boxes = gt_boxes_numpy(results, dtype=None)
        lo, hi = results.get('valid_range', None) or UNBOUNDED
        valid = valid_gt_mask(boxes, lo, hi)
        ignore = results.get('gt_ignore_flags', None)
        if ignore is not None:
            valid &= ~np.asarray(ignore, dtype=bool).reshape(-1)
        return boxes[valid]

    def negative_chips(self, results: dict, pos_chips: np.ndarray, img_w: int,
                       img_h: int) -> np.ndarray:
        """The negative-chip pool of this image-scale (empty without a proposals file):
        :func:`mmdet_scalenorm.chips.negative_chip_pool`."""
        if self.proposals_file is None or self.neg_chips_per_image == 0:
            return np.zeros((0, 4))
        if self._proposals is None:
            self._proposals = load_proposals(self.proposals_file)
        props = lookup_proposals(self._proposals, results.get('img_path'), results.get('img_id'),
                                 f'proposals_file {self.proposals_file!r}')
        return negative_chip_pool(props, results.get('scale_factor', None),
                                  results.get('valid_range', None) or UNBOUNDED, pos_chips,
                                  img_w, img_h, self.chip_size, self.stride)

    def choose_chip(self, results: dict, img_w: int, img_h: int) -> Tuple[np.ndarray, str]:
        """Draw the chip of this call (see the module docstring); (xyxy, 'pos'|'neg')."""
        valid = self._valid_gt(results)
        pos = generate_chips(valid, img_w, img_h, self.chip_size, self.stride)
        pool = self.negative_chips(results, pos, img_w, img_h)
        k = min(self.neg_chips_per_image, len(pool))
        neg = pool[np.random.choice(len(pool), k, replace=False)] if k else pool[:0]
        n_pos, n_neg = len(pos), len(neg)
        if n_pos + n_neg:
            if self.neg_prob is None:
                idx = np.random.randint(n_pos + n_neg)
                use_neg = idx >= n_pos
            else:
                use_neg = n_neg > 0 and (n_pos == 0 or np.random.rand() < self.neg_prob)
                idx = n_pos + np.random.randint(n_neg) if use_neg else np.random.randint(n_pos)
            return (neg[idx - n_pos], 'neg') if use_neg else (pos[idx], 'pos')
        # Fallback: no coverable valid GT and no negative chip.
        pad_w, pad_h = max(img_w, self.chip_size), max(img_h, self.chip_size)
        if len(valid):
            box = valid[np.random.randint(len(valid))].astype(np.float64)
            cx = np.clip((box[0] + box[2]) / 2, 0, img_w)
            cy = np.clip((box[1] + box[3]) / 2, 0, img_h)
            x0 = float(np.clip(np.floor(cx - self.chip_size / 2), 0, pad_w - self.chip_size))
            y0 = float(np.clip(np.floor(cy - self.chip_size / 2), 0, pad_h - self.chip_size))
            chip_type = 'pos'
        else:
            xs = candidate_starts(img_w, self.chip_size, self.stride)
            ys = candidate_starts(img_h, self.chip_size, self.stride)
            x0, y0 = xs[np.random.randint(len(xs))], ys[np.random.randint(len(ys))]
            chip_type = 'neg'
        return np.array([x0, y0, x0 + self.chip_size, y0 + self.chip_size]), chip_type

    # ---------------------------------------------------------------- cropping
    def transform(self, results: dict) -> dict:
        img = results['img']
        img_h, img_w = img.shape[:2]
        chip_type = None
        if results.get('chip', None) is not None:
            chip = np.asarray(results['chip'], dtype=np.float64).reshape(-1)
            if chip.size != 4 or not np.isfinite(chip).all():
                raise ValueError(f'SampleChip: results["chip"] must be 4 finite numbers (xyxy); '
                                 f'got {results["chip"]!r}')
            chip_type = results.get('chip_type', None)
        else:
            chip, chip_type = self.choose_chip(results, img_w, img_h)
        chip = np.round(chip).astype(np.int64)
        x1, y1 = int(np.clip(chip[0], 0, img_w)), int(np.clip(chip[1], 0, img_h))
        x2, y2 = int(np.clip(chip[2], 0, img_w)), int(np.clip(chip[3], 0, img_h))
        if x2 <= x1 or y2 <= y1:
            raise ValueError(f'SampleChip: chip {chip.tolist()} does not overlap the '
                             f'{img_w}x{img_h} image')
        self.crop(results, x1, y1, x2, y2)
        if chip_type is None:
            flags = results.get('gt_ignore_flags', None)
            n = len(gt_boxes_numpy(results))
            has_valid = n > 0 and (flags is None or not np.asarray(flags, dtype=bool).all())
            chip_type = 'pos' if has_valid else 'neg'
        results['chip'] = tuple(float(v) for v in chip)
        results['chip_type'] = chip_type
        return results

    def crop(self, results: dict, x1: int, y1: int, x2: int, y2: int) -> None:
        """Crop every image-aligned key of ``results`` to ``[x1, x2) x [y1, y2)`` (in place)."""
        img_h, img_w = results['img'].shape[:2]
        results['img'] = results['img'][y1:y2, x1:x2, ...]
        h, w = y2 - y1, x2 - x1
        results['img_shape'] = (h, w)
        hm = np.array([[1, 0, -x1], [0, 1, -y1], [0, 0, 1]], dtype=np.float32)
        if results.get('homography_matrix', None) is not None:
            results['homography_matrix'] = hm @ results['homography_matrix']
        if results.get('gt_seg_map', None) is not None:
            results['gt_seg_map'] = results['gt_seg_map'][y1:y2, x1:x2, ...]
        if results.get('gt_bboxes', None) is None:
            return
        orig = results['gt_bboxes']
        boxes = gt_boxes_numpy(results).astype(np.float64)
        with np.errstate(invalid='ignore'):
            vis = boxes.copy()  # part inside the image: the reference area
            vis[:, 0::2] = np.clip(vis[:, 0::2], 0, img_w)
            vis[:, 1::2] = np.clip(vis[:, 1::2], 0, img_h)
            inside = boxes.copy()
            inside[:, 0::2] = np.clip(inside[:, 0::2], x1, x2)
            inside[:, 1::2] = np.clip(inside[:, 1::2], y1, y2)
            in_w, in_h = inside[:, 2] - inside[:, 0], inside[:, 3] - inside[:, 1]
            keep = np.isfinite(boxes).all(axis=1) & (in_w > 0) & (in_h > 0)
            ref_area = (vis[:, 2] - vis[:, 0]) * (vis[:, 3] - vis[:, 1])
            frac = np.where(keep, in_w * in_h / np.where(keep, ref_area, 1.0), 0.0)
        cut = keep & (frac < self.min_overlap)
        idx = np.flatnonzero(keep)
        new_boxes = inside[idx] - np.array([x1, y1, x1, y1], dtype=np.float64)
        if isinstance(orig, BaseBoxes):
            results['gt_bboxes'] = type(orig)(
                torch.as_tensor(new_boxes, dtype=orig.tensor.dtype, device=orig.tensor.device))
        elif isinstance(orig, torch.Tensor):
            results['gt_bboxes'] = torch.as_tensor(new_boxes, dtype=orig.dtype)
        else:
            results['gt_bboxes'] = new_boxes.astype(np.float32)
        flags = results.get('gt_ignore_flags', None)
        flags = np.zeros(len(boxes), dtype=bool) if flags is None else \
            np.asarray(flags, dtype=bool).reshape(-1)
        results['gt_ignore_flags'] = (flags | cut)[idx]
        for key in ('gt_bboxes_labels', 'gt_instances_ids'):
            if results.get(key, None) is not None:
                results[key] = results[key][idx]
        if results.get('gt_masks', None) is not None:
            # crop first: copies only the chip's pixels of each mask, then selects the kept ones
            results['gt_masks'] = results['gt_masks'].crop(
                np.array([x1, y1, x2, y2], dtype=np.int64))[idx]
        if results.get('gt_keypoints', None) is not None:
            kps = np.array(results['gt_keypoints'], dtype=np.float32)[idx]
            kps[..., 0] -= x1
            kps[..., 1] -= y1
            # outside the chip -> v=0, and every v=0 keypoint is (0, 0, 0)
            results['gt_keypoints'] = drop_outside_keypoints(kps, (h, w))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(chip_size={self.chip_size}, stride={self.stride}, '
                f'min_overlap={self.min_overlap}, neg_chips_per_image={self.neg_chips_per_image}, '
                f'proposals_file={self.proposals_file!r}, neg_prob={self.neg_prob})')
