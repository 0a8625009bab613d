"""``CocoKeypointDataset``: COCO boxes plus per-instance keypoints for Keypoint R-CNN (ISN §4.3.2).

ISN §4.3.2 trains a Keypoint R-CNN with scale normalization on COCO person keypoints.  mmdet 3.x
reads no keypoints, so this dataset is mmdet's ``CocoDataset`` (same instance rules: ``ignore``,
empty or out-of-image boxes and unknown categories skipped, crowd -> ``ignore_flag=1``) whose every
instance also carries ``keypoints``: a float32 ``(K, 3)`` array of ``(x, y, v)`` in image pixels.

Rules (the keypoint data contract):

* Annotations follow COCO keypoint JSON: ``keypoints`` is a flat list of ``3*K`` numbers with
  ``v`` in {0: not labelled, 1: labelled not visible, 2: visible}; a ``v=0`` row is stored as
  ``(0, 0, 0)``.  ``K`` of a category is the length of its ``keypoints`` names in the file.  When
  no loaded category names keypoints, ``metainfo['keypoint_names']`` gives ``K`` for every
  category.  Instances of categories without keypoints (the synthetic benchmark's discs, stars...)
  and annotations without a ``keypoints`` field get an all-zero ``(K, 3)`` array.
* People with no labelled keypoint (all ``v=0``) are **kept** as boxes: their keypoints are all
  ``v=0``, so they train the box branches and give no keypoint loss.
* Dataset metainfo gains ``keypoint_names`` (tuple of K str), ``skeleton`` (0-based pairs),
  ``flip_indices`` (``flip_indices[k]``: the index keypoint k becomes after a horizontal flip) and
  ``sigmas`` (``np.ndarray (K,)``, COCO OKS sigmas).  Each comes from the ``metainfo`` passed to
  the dataset when given there, else from the annotation file's category (``skeleton`` 1-based ->
  0-based; ``flip_pairs``, 0-based pairs, as the synthetic benchmark writes), else: ``sigmas`` from
  :data:`BUILTIN_SIGMAS` (COCO person, the synthetic ``figure``), ``flip_indices`` from the
  ``left_``/``right_`` name prefixes, ``skeleton`` empty.  ``get_data_info`` adds ``flip_indices``
  to every sample, so ``KeypointRandomFlip`` and ``PackScaleNormInputs`` find it in the pipeline.
* ``filter_cfg=dict(filter_empty_gt=True)`` also drops (training) images without any labelled
  keypoint (``v > 0``), as Detectron's keypoint training does; ``filter_empty_keypoints`` in
  ``filter_cfg`` overrides this choice.  The drops are counted (``num_no_keypoint_images``) and
  logged.
* Bad input raises ``ValueError`` naming the image id and annotation id: a ``keypoints`` list of
  length other than ``3*K`` of its category, NaN/inf, ``v`` not in {0, 1, 2}; and naming the key:
  missing keypoint names or sigmas, metainfo inconsistent with the file, bad ``flip_indices``.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

from .synthetic import FIGURE_KEYPOINTS, FIGURE_SKELETON, SYNTHETIC_METAINFO

__all__ = ['CocoKeypointDataset', 'COCO_PERSON_KEYPOINTS', 'COCO_PERSON_SIGMAS', 'FIGURE_SIGMAS',
           'BUILTIN_SIGMAS', 'SYNTHETIC_KEYPOINT_METAINFO', 'flip_indices_from_names',
           'check_flip_indices']

COCO_PERSON_KEYPOINTS = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
                         'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow',
                         'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee',
                         'right_knee', 'left_ankle', 'right_ankle')
#: COCO's per-keypoint OKS sigmas (cocoapi ``COCOeval``), person order above
COCO_PERSON_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07,
                               .87, .87, .89, .89]) / 10.0
#: OKS sigmas of the synthetic ``figure`` (no human annotator variance exists for it): each part
#: takes the COCO sigma of its closest person part, head = nose .026, shoulders .079, elbows .072,
#: hands = wrists .062, hips .107, knees .087, feet = ankles .089.
FIGURE_SIGMAS = np.array([.026, .079, .079, .072, .072, .062, .062, .107, .107, .087, .087,
                          .089, .089])
#: keypoint names -> sigmas used when neither metainfo nor the file gives them
BUILTIN_SIGMAS: Dict[Tuple[str, ...], np.ndarray] = {
    COCO_PERSON_KEYPOINTS: COCO_PERSON_SIGMAS, FIGURE_KEYPOINTS: FIGURE_SIGMAS}


def flip_indices_from_names(names: Sequence[str]) -> List[int]:
    """``flip_indices`` swapping every ``left_X`` with ``right_X``; other names map to themselves.

    Raises:
        ValueError: a ``left_``/``right_`` name whose counterpart is missing.
    """
    index = {n: i for i, n in enumerate(names)}
    out = []
    for i, n in enumerate(names):
        for a, b in (('left_', 'right_'), ('right_', 'left_')):
            if n.startswith(a):
                mate = b + n[len(a):]
                if mate not in index:
                    raise ValueError(f'keypoint {n!r} has no {mate!r} to swap with on a horizontal '
                                     'flip; give metainfo["flip_indices"]')
                out.append(index[mate])
                break
        else:
            out.append(i)
    return out


def check_flip_indices(flip_indices, k: int, where: str = 'flip_indices') -> List[int]:
    """``flip_indices`` as a list of ints, checked: a permutation of ``0..K-1`` that is its own
    inverse (flipping twice is the identity)."""
    try:
        idx = [int(i) for i in flip_indices]
        ok = all(float(i) == j for i, j in zip(flip_indices, idx))
    except (TypeError, ValueError):
        ok = False
    if not ok or sorted(idx) != list(range(k)) or any(idx[i] != j for j, i in enumerate(idx)):
        raise ValueError(f'{where} must be a self-inverse permutation of 0..{k - 1} (K={k}); '
                         f'got {flip_indices!r}')
    return idx


#: metainfo of the synthetic benchmark for keypoint configs: its classes and palette plus the
#: ``figure`` keypoints (0-based skeleton, flip_indices, :data:`FIGURE_SIGMAS`)
SYNTHETIC_KEYPOINT_METAINFO = dict(
    SYNTHETIC_METAINFO, keypoint_names=FIGURE_KEYPOINTS,
    skeleton=[[a - 1, b - 1] for a, b in FIGURE_SKELETON],
    flip_indices=flip_indices_from_names(FIGURE_KEYPOINTS), sigmas=tuple(FIGURE_SIGMAS.tolist()))


@DATASETS.register_module()
class CocoKeypointDataset(CocoDataset):
    """``CocoDataset`` whose instances carry ``keypoints`` (K, 3); see the module docstring.

    Metainfo keys read (all optional): ``keypoint_names``, ``skeleton`` (0-based), ``flip_indices``,
    ``sigmas``. ``filter_cfg`` also accepts ``filter_empty_keypoints`` (default: the value of
    ``filter_empty_gt``).

    Attributes:
        num_no_keypoint_images (int): images dropped by the keypoint filter.
        num_missing_keypoints (int): annotations of keypoint categories without a ``keypoints``
            field (stored as all ``v=0``).
    """

    num_no_keypoint_images = 0
    num_missing_keypoints = 0

    # mmdet's load_data_list sets ``self.coco`` right after reading the file and deletes it at the
    # end; the setter resolves the keypoint metainfo before any annotation is parsed.
    @property
    def coco(self):
        return self._coco

    @coco.setter
    def coco(self, api) -> None:
        self._coco = api
        self._resolve_keypoint_meta(api)

    @coco.deleter
    def coco(self) -> None:
        del self._coco

    def _resolve_keypoint_meta(self, api) -> None:
        """Set ``keypoint_names``/``skeleton``/``flip_indices``/``sigmas`` and each category's K."""
        src = f'{self.ann_file}'
        meta = self._metainfo
        cats = api.load_cats(api.get_cat_ids(cat_names=meta['classes']))
        named = [c for c in cats if c.get('keypoints')]
        given = meta.get('keypoint_names', None)
        if given is not None:
            if isinstance(given, str) or not all(isinstance(n, str) for n in given):
                raise ValueError(f'metainfo["keypoint_names"] must be a sequence of str; got '
                                 f'{given!r}')
            given = tuple(given)
        if named:
            names = tuple(named[0]['keypoints'])
            for c in named:
                if tuple(c['keypoints']) != names:
                    raise ValueError(f'{src}: categories {named[0]["name"]!r} and {c["name"]!r} '
                                     'have different keypoint names; one K per dataset')
            if given is not None and given != names:
                raise ValueError(f'{src}: metainfo["keypoint_names"] {given} differs from the '
                                 f'keypoints of category {named[0]["name"]!r}: {names}')
        elif given is not None:
            names = given
        else:
            raise ValueError(f'{src}: missing keypoint metainfo: none of the categories '
                             f'{tuple(meta["classes"])} has "keypoints" names in the file and '
                             'metainfo has no "keypoint_names"')
        k = len(names)
        cat0 = named[0] if named else {}
        self._cat_k = {c['id']: k for c in (named or cats)}
        self._cat_name = {c['id']: c['name'] for c in cats}

        try:
            if meta.get('skeleton', None) is not None:
                skeleton = [[int(a), int(b)] for a, b in meta['skeleton']]
            else:
                skeleton = [[int(a) - 1, int(b) - 1] for a, b in cat0.get('skeleton', [])]
        except (TypeError, ValueError):
            raise ValueError(f'{src}: skeleton must be a list of index pairs; got '
                             f'{meta.get("skeleton", cat0.get("skeleton"))!r}')
        if any(not (0 <= i < k) for pair in skeleton for i in pair):
            raise ValueError(f'{src}: skeleton {skeleton} (0-based) has an index outside '
                             f'0..{k - 1}')

        if meta.get('flip_indices', None) is not None:
            flip = check_flip_indices(meta['flip_indices'], k, 'metainfo["flip_indices"]')
        elif cat0.get('flip_pairs'):
            flip = list(range(k))
            for a, b in cat0['flip_pairs']:
                flip[int(a)], flip[int(b)] = int(b), int(a)
            flip = check_flip_indices(flip, k, f'{src}: category flip_pairs')
        else:
            flip = check_flip_indices(flip_indices_from_names(names), k)

        if meta.get('sigmas', None) is not None:
            sigmas = np.asarray(meta['sigmas'], dtype=np.float64).reshape(-1)
        elif names in BUILTIN_SIGMAS:
            sigmas = BUILTIN_SIGMAS[names].copy()
        else:
            raise ValueError(f'{src}: missing keypoint metainfo: no OKS "sigmas" for keypoints '
                             f'{names}; give metainfo["sigmas"] ({k} numbers > 0)')
        if sigmas.shape != (k, ) or not np.all(np.isfinite(sigmas) & (sigmas > 0)):
            raise ValueError(f'metainfo["sigmas"] must be {k} finite numbers > 0; got '
                             f'{sigmas.tolist()!r}')
        meta.update(keypoint_names=names, skeleton=skeleton, flip_indices=flip, sigmas=sigmas)

    def _parse_keypoints(self, ann: dict, img_id) -> np.ndarray:
        """The annotation's keypoints as float32 (K, 3), checked (see the module docstring)."""
        k = len(self._metainfo['keypoint_names'])
        cat = ann.get('category_id')
        k_cat = self._cat_k.get(cat, 0)
        raw = ann.get('keypoints', None)
        if raw is None:
            self.num_missing_keypoints += bool(k_cat)
            return np.zeros((k, 3), dtype=np.float32)
        where = (f'{self.ann_file}: image {img_id} annotation {ann.get("id")} (category {cat} '
                 f'{self._cat_name.get(cat)!r})')
        try:
            arr = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f'{where}: keypoints must be a flat list of numbers; got {raw!r}')
        if arr.ndim != 1 or arr.size != 3 * k_cat:
            raise ValueError(f'{where}: keypoints has {arr.size} numbers; its category has '
                             f'K={k_cat} keypoints, so 3*K={3 * k_cat} are expected')
        if k_cat == 0:  # a category without keypoints: an empty list is fine
            return np.zeros((k, 3), dtype=np.float32)
        arr = arr.reshape(k, 3)
        if not np.isfinite(arr).all():
            raise ValueError(f'{where}: keypoints has NaN/inf entries: {raw!r}')
        if not np.isin(arr[:, 2], (0, 1, 2)).all():
            raise ValueError(f'{where}: keypoint visibility v must be 0, 1 or 2; got '
                             f'{arr[:, 2].tolist()}')
        arr[arr[:, 2] == 0] = 0
        return arr.astype(np.float32)

    def parse_data_info(self, raw_data_info: dict) -> dict:
        """mmdet's parse of the image, each kept instance with its ``keypoints`` (K, 3)."""
        img_info, anns = raw_data_info['raw_img_info'], raw_data_info['raw_ann_info']
        data_info = super().parse_data_info(dict(raw_ann_info=[], raw_img_info=img_info))
        instances = []
        for ann in anns:
            kps = None
            if ann.get('category_id') in self._cat_name:
                kps = self._parse_keypoints(ann, img_info['img_id'])
            # mmdet's own instance rule, one annotation at a time: kept anns stay aligned
            for inst in super().parse_data_info(dict(raw_ann_info=[ann],
                                                     raw_img_info=img_info))['instances']:
                inst['keypoints'] = kps
                instances.append(inst)
        data_info['instances'] = instances
        return data_info

    def filter_data(self) -> List[dict]:
        """mmdet's filter, then (training, when enabled) drop images without labelled keypoints."""
        kept = super().filter_data()
        cfg = self.filter_cfg or {}
        if self.test_mode or not cfg.get('filter_empty_keypoints',
                                         cfg.get('filter_empty_gt', False)):
            return kept
        out = [d for d in kept if any((inst['keypoints'][:, 2] > 0).any()
                                      for inst in d['instances'])]
        self.num_no_keypoint_images = len(kept) - len(out)
        print_log(f'{type(self).__name__} ({self.ann_file}): {self.num_no_keypoint_images} of '
                  f'{len(kept)} images have no labelled keypoint (v > 0) and are filtered out; '
                  f'{self.num_missing_keypoints} annotations of keypoint categories had no '
                  '"keypoints" field (kept, all v=0)', logger='current')
        return out

    def get_data_info(self, idx: int) -> dict:
        """The sample's data info plus ``flip_indices`` (for ``KeypointRandomFlip`` / packing)."""
        info = super().get_data_info(idx)
        info['flip_indices'] = list(self._metainfo['flip_indices'])
        return info

    def load_data_list(self) -> List[dict]:
        self.num_missing_keypoints = 0
        return super().load_data_list()
