"""Keypoint-aware loading, resize and flip for Keypoint R-CNN pipelines (ISN §4.3.2).

mmdet 3.x's ``LoadAnnotations``, ``Resize`` and ``RandomFlip`` ignore keypoints (mmcv's versions
handle them, but clip them to the image and never swap left/right).  These subclasses add
``results['gt_keypoints']``, float32 ``(N, K, 3)`` = ``(x, y, v)`` in current-image pixels, aligned
with ``gt_bboxes`` / ``gt_bboxes_labels`` / ``gt_ignore_flags`` (ignored instances included):

* :class:`LoadAnnotationsWithKeypoints`: stacks each instance's ``keypoints``
  (``CocoKeypointDataset``).
* :class:`KeypointResize`: ``x * sx``, ``y * sy`` with mmdet's ``results['scale_factor']`` of this
  resize; keypoints are continuous coordinates (a pixel centre is ``col + 0.5``), exactly the
  mapping ``cv2.resize`` applies to pixel centres.  Never clipped (clipping would move them).
* :class:`KeypointRandomFlip`: horizontal flip ``x -> W - x`` and the left/right swap: keypoint
  ``k`` becomes keypoint ``flip_indices[k]``.  ``flip_indices`` is read from
  ``results['flip_indices']`` (``CocoKeypointDataset`` adds it) or the constructor argument (both
  given must agree).  Vertical and diagonal flips of keypoints raise ``NotImplementedError``
  (no up/down correspondence is defined for a body).

After each transform every keypoint outside ``[0, W] x [0, H]`` of the current image gets ``v=0``
and every ``v=0`` row is ``(0, 0, 0)`` (:func:`drop_outside_keypoints`).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from mmdet.datasets.transforms import LoadAnnotations, RandomFlip, Resize
from mmdet.registry import TRANSFORMS

from ..coco_keypoint import check_flip_indices

__all__ = ['LoadAnnotationsWithKeypoints', 'KeypointResize', 'KeypointRandomFlip',
           'drop_outside_keypoints']


def drop_outside_keypoints(kps: np.ndarray, img_shape: Sequence[int]) -> np.ndarray:
    """Set ``v=0`` for keypoints outside ``[0, W] x [0, H]`` (``img_shape = (H, W)``) and zero
    ``x, y`` of every ``v=0`` keypoint (in place; returns ``kps``)."""
    h, w = img_shape[:2]
    x, y = kps[..., 0], kps[..., 1]
    with np.errstate(invalid='ignore'):
        outside = ~((x >= 0) & (x <= w) & (y >= 0) & (y <= h))
    kps[outside | (kps[..., 2] == 0)] = 0
    return kps


@TRANSFORMS.register_module()
class LoadAnnotationsWithKeypoints(LoadAnnotations):
    """mmdet's ``LoadAnnotations`` that also loads ``gt_keypoints`` (N, K, 3) float32.

    Args:
        with_keypoints (bool): load ``instance['keypoints']`` of every instance. Defaults to True.
        num_keypoints (int, optional): K for an image without instances when
            ``results['flip_indices']`` (set by ``CocoKeypointDataset``) is absent.
        **kwargs: mmdet ``LoadAnnotations`` arguments (``with_bbox``, ``with_mask`` ...).
    """

    def __init__(self, with_keypoints: bool = True, num_keypoints: Optional[int] = None,
                 **kwargs) -> None:
        if not isinstance(with_keypoints, bool):
            raise ValueError(f'with_keypoints must be True or False; got {with_keypoints!r}')
        if num_keypoints is not None and (isinstance(num_keypoints, bool) or
                                          not isinstance(num_keypoints, int) or num_keypoints < 1):
            raise ValueError(f'num_keypoints must be None or an int >= 1; got {num_keypoints!r}')
        super().__init__(with_keypoints=with_keypoints, **kwargs)
        self.num_keypoints = num_keypoints

    def _load_kps(self, results: dict) -> None:
        """Stack ``instance['keypoints']`` into ``results['gt_keypoints']`` (N, K, 3) float32."""
        where = f'image {results.get("img_id", results.get("img_path"))}'
        rows = []
        for i, inst in enumerate(results.get('instances', [])):
            if inst.get('keypoints', None) is None:
                raise ValueError(f'{where}: instance {i} has no "keypoints" (load the data with '
                                 'CocoKeypointDataset)')
            kp = np.asarray(inst['keypoints'], dtype=np.float32)
            rows.append(kp.reshape(-1, 3) if kp.size % 3 == 0 else kp)
        if rows:
            shapes = {r.shape for r in rows}
            if len(shapes) != 1 or rows[0].ndim != 2 or rows[0].shape[1] != 3:
                raise ValueError(f'{where}: instance keypoints must all be (K, 3); got shapes '
                                 f'{sorted(shapes)}')
            kps = np.stack(rows)
        else:
            k = len(results['flip_indices']) if results.get('flip_indices') is not None \
                else self.num_keypoints
            if k is None:
                raise ValueError(f'{where} has no instances and K is unknown: give '
                                 'results["flip_indices"] (CocoKeypointDataset) or num_keypoints')
            kps = np.zeros((0, k, 3), dtype=np.float32)
        results['gt_keypoints'] = kps

    def transform(self, results: dict) -> dict:
        results = super().transform(results)
        if self.with_keypoints:
            self._load_kps(results)
        return results

    def __repr__(self) -> str:
        return (super().__repr__()[:-1] + f', with_keypoints={self.with_keypoints}, '
                f'num_keypoints={self.num_keypoints})')


@TRANSFORMS.register_module()
class KeypointResize(Resize):
    """mmdet's ``Resize`` that also scales ``gt_keypoints`` by this resize's ``scale_factor``
    (not clipped; keypoints outside the image get ``v=0``)."""

    def _resize_keypoints(self, results: dict) -> None:
        if results.get('gt_keypoints', None) is None:
            return
        kps = np.array(results['gt_keypoints'], dtype=np.float32)
        sx, sy = results['scale_factor']
        kps[..., 0] *= sx
        kps[..., 1] *= sy
        results['gt_keypoints'] = drop_outside_keypoints(kps, results['img_shape'])

    def transform(self, results: dict) -> dict:
        results = super().transform(results)
        self._resize_keypoints(results)
        return results


@TRANSFORMS.register_module()
class KeypointRandomFlip(RandomFlip):
    """mmdet's ``RandomFlip`` that also flips ``gt_keypoints`` (horizontal only) and swaps
    left/right keypoints.

    Args:
        prob, direction: as mmdet's ``RandomFlip``.
        flip_indices (list[int], optional): used when ``results['flip_indices']`` is absent.
        **kwargs: other mmdet ``RandomFlip`` arguments.
    """

    def __init__(self, prob=None, direction='horizontal',
                 flip_indices: Optional[Sequence[int]] = None, **kwargs) -> None:
        super().__init__(prob=prob, direction=direction, **kwargs)
        if flip_indices is not None:
            flip_indices = check_flip_indices(flip_indices, len(flip_indices))
        self.flip_indices = flip_indices

    def _flip_indices(self, results: dict, k: int) -> np.ndarray:
        given = results.get('flip_indices', None)
        if given is None and self.flip_indices is None:
            raise ValueError('KeypointRandomFlip needs flip_indices to swap left/right keypoints: '
                             'load the data with CocoKeypointDataset (results["flip_indices"]) or '
                             'pass KeypointRandomFlip(flip_indices=...)')
        if given is not None and self.flip_indices is not None and \
                list(given) != self.flip_indices:
            raise ValueError(f'results["flip_indices"] {list(given)} differs from '
                             f'KeypointRandomFlip(flip_indices={self.flip_indices})')
        idx = self.flip_indices if given is None else given
        return np.asarray(check_flip_indices(idx, k, f'flip_indices (K={k})'), dtype=np.int64)

    def _flip(self, results: dict) -> None:
        kps = results.get('gt_keypoints', None)
        direction = results['flip_direction']
        if kps is not None:
            if direction != 'horizontal':
                raise NotImplementedError(
                    f'KeypointRandomFlip: a {direction!r} flip of keypoints is not defined (no '
                    "up/down keypoint correspondence); use direction='horizontal'")
            kps = np.array(kps, dtype=np.float32)
            flip = self._flip_indices(results, kps.shape[1])
        super()._flip(results)
        if kps is None:
            return
        h, w = results['img'].shape[:2]
        kps[..., 0] = w - kps[..., 0]
        out = np.empty_like(kps)
        out[:, flip] = kps  # keypoint k becomes keypoint flip[k]
        results['gt_keypoints'] = drop_outside_keypoints(out, (h, w))

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f', flip_indices={self.flip_indices})'
