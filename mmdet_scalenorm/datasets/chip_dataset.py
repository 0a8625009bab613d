"""``ChipDataset``: SNIPER-style epochs over (image, pyramid scale, chip) triples.

SNIPER (used by ISN §3.3.1, "the same chip generation strategy in SNIPER"; SNIP §6.2 for the
greedy chips) trains on ``chip_size`` chips cut from an image pyramid instead of whole images: at
every scale of the pyramid the *positive chips* cover the ground truth that is valid at that scale,
and an epoch visits every positive chip once, plus a few *negative chips* per image mined from
proposals that no positive chip covers.

This wrapper enumerates the epoch once, at construction (``lazy_init`` compatible, like mmengine's
wrappers), with a progress bar, and caches the enumeration on disk.

Enumeration rule (:func:`mmdet_scalenorm.chips.enumerate_image_chips`), for every image ``i`` of
the inner dataset and every factor ``f`` of ``scale_factors``:

* The resized size is ``(W_s, H_s) = (int(w*f + 0.5), int(h*f + 0.5))`` from the data info's
  ``width``/``height`` -- the size :class:`ResizeToChipScale` produces -- and the GT boxes are
  computed bit for bit as the pipeline computes them (:func:`~mmdet_scalenorm.chips.resize_boxes`:
  ``LoadAnnotations``' float32 boxes times mmdet ``Resize``'s float32 ``(sx, sy)``, clipped to the
  resized image unless the pipeline's ``ResizeToChipScale`` sets ``clip_object_border=False``).
* A GT is *valid* exactly when :class:`MarkValidRange` keeps it: not ignored (crowd) in the data
  info and :func:`mmdet_scalenorm.scale.valid_gt_mask` in the range in resized pixels
  (:func:`~mmdet_scalenorm.scale.range_in_pixels`): ``valid_range`` for ``reference='resized'``
  (ISN), ``scale_ranges[k] * sqrt(sx*sy)`` for ``reference='original'`` (SNIP, one per factor).
  Both sides use the same float32 boxes and the same float64 rule, so a box exactly on an end of
  the range gets the same answer here and in the pipeline.
* Positive chips = :func:`mmdet_scalenorm.chips.generate_chips` over the valid GT: every valid GT
  whose sides are at most ``chip_size`` lies inside a chip (larger ones are left to coarser
  scales).  An image-scale pair without valid GT (or whose valid GT are all too large) gives no
  item, unless ``keep_empty=True``: then it gives one chip, the ``chip_size`` window centred on the
  resized image (clipped to start at >= 0), so empty or crowd-only images and scales are visited
  as background chips.
* Negative chips (``neg_proposals_file`` given and ``neg_chips_per_image > 0``): per image-scale
  pair :func:`~mmdet_scalenorm.chips.negative_chip_pool` (the rule ``SampleChip`` uses too) scales
  the image's proposals (original pixels, see :func:`mmdet_scalenorm.chips.load_proposals` for the
  format, a 5th score column is accepted), keeps the valid ones and covers those no positive chip
  contains.  Every image of the dataset must have an entry in the file (an empty one is fine),
  else a ``ValueError`` names the missing image ids and the file.  The pool of an image is the
  union over its scales.  Each image holds ``min(neg_chips_per_image, pool size)`` negative
  *slots*, so ``len(self)`` is the same every epoch (mmengine's samplers read it once).  Which pool
  chip fills a slot is resampled per epoch (SNIPER: negative chips are re-sampled every epoch),
  see "Epochs" below.

Epochs (indices carry the epoch).  An index ``idx >= 0`` means item ``i`` of epoch ``e`` with
``(e, i) = divmod(idx, len(self))`` (:meth:`decode_index`; :meth:`encode_index` is the inverse), so
plain indices ``0 <= i < len(self)`` are epoch 0 and negative indices ``-len(self) <= i < 0`` are
Python's, in epoch 0.  Slot ``s`` of image ``m`` in epoch ``e`` holds pool chip
``default_rng([seed, e, m]).permutation(pool size)[s]`` (the slots of one image hold distinct
chips); positive items do not depend on the epoch.  The draw is a pure function of the index, so
every dataloader worker (persistent or not, any number) gives the same chips for the same epoch,
and no state has to reach the dataset copies that the workers hold.  mmengine's loops
(``DistSamplerSeedHook`` for ``EpochBasedTrainLoop``; the dataloader restart of
``IterBasedTrainLoop``) call ``set_epoch`` on the *sampler* only, so the epoch enters through the
indices of :class:`~mmdet_scalenorm.datasets.samplers.ChipEpochSampler` (a ``DefaultSampler``
yielding ``encode_index(sampler.epoch, i)``) or
:class:`~mmdet_scalenorm.datasets.samplers.ChipInfiniteSampler` (an ``InfiniteSampler`` whose
``p``-th pass over the data is epoch ``p``, for ``IterBasedTrainLoop``)::

    train_dataloader = dict(
        batch_size=2, num_workers=2, persistent_workers=True,
        sampler=dict(type='ChipEpochSampler', shuffle=True),  # or 'ChipInfiniteSampler'
        dataset=dict(type='ChipDataset', dataset=dict(type='CocoDataset', ...),
                     neg_proposals_file='proposals.pkl', neg_chips_per_image=2,
                     pipeline=[...]))

With mmengine's plain ``DefaultSampler`` / ``InfiniteSampler`` every epoch uses epoch 0's
negative chips (still deterministic, but not re-sampled).

``__getitem__(i)`` takes the inner dataset's data info of the item's image (``get_data_info``), adds
``chip_scale_factor`` (float), ``chip`` (float32 xyxy in pixels of the image resized by that factor)
and ``chip_type`` ('pos' | 'neg'), and runs this wrapper's ``pipeline``, typically::

    LoadImageFromFile, LoadAnnotations, ResizeToChipScale, MarkValidRange, SampleChip,
    RandomFlip, PackDetInputs

(``MarkValidRange`` with the same range settings as here; with negative chips or ``keep_empty`` use
``MarkValidRange(keep_empty=True)``, else items whose image-scale pair has no valid GT are skipped).
``ResizeToChipScale`` computes only the chip's pixels of the resized image (see its docstring), so
a factor-4 item costs about what a factor-1 item does.
As mmengine's ``BaseDataset``, a ``None`` from the pipeline makes it fetch a random other item (of
the same epoch; drawn with numpy's global RNG, as mmengine does), at most ``max_refetch`` times.

Cache: the enumeration is stored on disk, keyed by everything it depends on; see
:mod:`mmdet_scalenorm.datasets.chip_cache` (``cache_dir=None``: next to the annotation file,
``False``: no cache).
"""
from __future__ import annotations

import copy
import logging
import math
import operator
import os
import sys
from numbers import Real
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset, Compose
from mmengine.dist import get_rank
from mmengine.logging import print_log
from mmengine.utils import ProgressBar
from mmdet.registry import DATASETS, TRANSFORMS

from ..chips import (check_proposals_cover, enumerate_image_chips, load_proposals,
                     lookup_proposals)
from ..scale import REFERENCES, is_unbounded, parse_range, parse_ranges
from .chip_cache import (CACHE_VERSION, annotation_file, cache_key, load_cache,
                         resolve_cache_path, save_cache)
from .transforms.resize_to_chip_scale import ResizeToChipScale
from .transforms.valid_range import MarkValidRange

__all__ = ['ChipDataset', 'enumerate_image_chips', 'CACHE_VERSION']

KIND_POS, KIND_NEG = 0, 1


def _check_positive_number(v, key: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (Real, np.generic)) or not math.isfinite(v) \
            or v <= 0:
        raise ValueError(f'{key} must be a finite number > 0; got {v!r}')
    return float(v)


def _check_int(v, key: str, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise ValueError(f'{key} must be an int >= {lo}; got {v!r}')
    return int(v)


@DATASETS.register_module()
class ChipDataset:
    """Dataset wrapper whose items are SNIPER chips (ISN §3.3.1; see the module docstring).

    Args:
        dataset (dict | BaseDataset): the inner dataset (e.g. ``CocoDataset``; its own pipeline is
            not used, only ``get_data_info``).  Its data infos need ``width``/``height`` and
            ``instances`` with ``bbox`` / ``ignore_flag``.
        pipeline (list): the chip pipeline (see the module docstring).
        scale_factors (sequence[float]): pyramid factors. Defaults to ISN's (4, 2, 1, 0.5, 0.25).
        valid_range (tuple): ISN range in resized pixels (``reference='resized'``).
        reference (str): 'resized' (ISN) or 'original' (SNIP, needs ``scale_ranges``).
        scale_ranges (list): SNIP, one original-pixel ``(lo, hi)`` per factor.
        chip_size (int): chip side in pixels. Defaults to 512 (SNIPER's); ISN configs pass 576,
            the patch size of ISN training (ISN §4.2.4).
        stride (int): chip grid step (0 < stride < chip_size). Defaults to 32.
        neg_proposals_file (str, optional): proposals for negative chip mining (an entry for
            every image; see the module docstring).
        neg_chips_per_image (int): negative slots per image per epoch. Defaults to 2.
        cache_dir (str | None | False): see the module docstring.
        keep_empty (bool): one centre chip for image-scale pairs without valid GT.
        scale_repeats (sequence[int], optional): one int >= 1 per factor: every positive chip of
            factor ``scale_factors[k]`` is listed ``scale_repeats[k]`` times per epoch (a
            weighting of the scales, e.g. ``(1, 1, 2, 2, 2)`` to see x1 and coarser chips twice as
            often). ``None`` (default): SNIPER's epoch, every chip once. Negative slots are not
            repeated. Applied after the (cached) enumeration.
        show_progress (bool): progress bar while enumerating (rank 0 only).
        seed (int): seed of the per-epoch negative-chip draw (see "Epochs" in the module
            docstring). Defaults to 0.
        max_refetch (int): as mmengine's BaseDataset.
        lazy_init (bool): enumerate in :meth:`full_init` instead of in ``__init__`` (an inner
            dataset given as a config is then built with ``lazy_init=True`` unless it says).
    """

    def __init__(self,
                 dataset: Union[dict, BaseDataset],
                 pipeline: Sequence = (),
                 scale_factors: Sequence[float] = (4, 2, 1, 0.5, 0.25),
                 valid_range=(16, 560),
                 reference: str = 'resized',
                 scale_ranges: Optional[Sequence] = None,
                 chip_size: int = 512,
                 stride: int = 32,
                 neg_proposals_file: Optional[str] = None,
                 neg_chips_per_image: int = 2,
                 cache_dir: Union[str, None, bool] = None,
                 keep_empty: bool = False,
                 scale_repeats: Optional[Sequence[int]] = None,
                 show_progress: bool = True,
                 seed: int = 0,
                 max_refetch: int = 1000,
                 lazy_init: bool = False) -> None:
        if isinstance(scale_factors, (str, bytes)) or not isinstance(scale_factors, Sequence) \
                or len(scale_factors) == 0:
            raise ValueError('scale_factors must be a non-empty sequence of numbers > 0; got '
                             f'{scale_factors!r}')
        self.scale_factors = tuple(
            _check_positive_number(f, f'scale_factors[{i}]') for i, f in enumerate(scale_factors))
        if reference not in REFERENCES:
            raise ValueError(f'reference must be one of {REFERENCES}; got {reference!r}')
        self.reference = reference
        if reference == 'resized':
            self.valid_range = parse_range(valid_range, 'valid_range')
            if scale_ranges is not None:
                raise ValueError("scale_ranges is only used with reference='original'; with "
                                 "reference='resized' set valid_range (got scale_ranges="
                                 f'{scale_ranges!r})')
            self.scale_ranges = None
        else:
            if scale_ranges is None:
                raise ValueError("scale_ranges is required with reference='original': one (lo, hi) "
                                 'range per scale factor')
            self.scale_ranges = parse_ranges(scale_ranges, 'scale_ranges')
            if len(self.scale_ranges) != len(self.scale_factors):
                raise ValueError(f'scale_ranges must hold one range per scale factor '
                                 f'({len(self.scale_factors)}); got {len(self.scale_ranges)}')
            self.valid_range = None
        if isinstance(chip_size, bool) or not isinstance(chip_size, (int, np.integer)) or \
                chip_size <= 0:
            raise ValueError(f'chip_size must be an int > 0; got {chip_size!r}')
        if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or \
                not 0 < stride < chip_size:
            raise ValueError(f'stride must be an int with 0 < stride < chip_size ({chip_size}); '
                             f'got {stride!r}')
        self.chip_size, self.stride = int(chip_size), int(stride)
        self.neg_chips_per_image = _check_int(neg_chips_per_image, 'neg_chips_per_image', 0)
        if neg_proposals_file is not None and not (isinstance(neg_proposals_file, str) and
                                                   os.path.isfile(neg_proposals_file)):
            raise ValueError('neg_proposals_file must be the path of an existing proposals file '
                             f'or None; got {neg_proposals_file!r}')
        self.neg_proposals_file = neg_proposals_file
        if not (cache_dir is None or cache_dir is False or isinstance(cache_dir, str)):
            raise ValueError(f'cache_dir must be a directory path, None (default location) or '
                             f'False (no cache); got {cache_dir!r}')
        self.cache_dir = cache_dir
        for key, v in (('keep_empty', keep_empty), ('show_progress', show_progress)):
            if not isinstance(v, bool):
                raise ValueError(f'{key} must be True or False; got {v!r}')
        self.keep_empty, self.show_progress = keep_empty, show_progress
        self.seed = _check_int(seed, 'seed', 0)
        if scale_repeats is not None:
            if isinstance(scale_repeats, (str, bytes)) or not isinstance(scale_repeats, Sequence) \
                    or len(scale_repeats) != len(self.scale_factors):
                raise ValueError(f'scale_repeats must hold one int >= 1 per scale factor '
                                 f'({len(self.scale_factors)}) or be None; got {scale_repeats!r}')
            scale_repeats = tuple(_check_int(r, f'scale_repeats[{k}]', 1)
                                  for k, r in enumerate(scale_repeats))
        self.scale_repeats = scale_repeats
        self.max_refetch = _check_int(max_refetch, 'max_refetch', 0)

        if isinstance(dataset, dict):
            if lazy_init:  # the inner annotations are loaded in full_init too
                dataset = {**dataset, 'lazy_init': dataset.get('lazy_init', True)}
            self.dataset = DATASETS.build(dataset)
        elif isinstance(dataset, BaseDataset):
            self.dataset = dataset
        else:
            raise TypeError('dataset must be a config dict or a BaseDataset; got '
                            f'{type(dataset).__name__}')
        self._metainfo = self.dataset.metainfo
        # Built from mmdet's registry so mmdet's transforms win without a default scope.
        self.pipeline = Compose(
            [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline])
        self._check_pipeline_range()
        self.cache_path: Optional[str] = None
        self.cache_hit: Optional[bool] = None
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    def _check_pipeline_range(self) -> None:
        """No silent switch-off of the range rule: a pipeline that packs training samples must
        mark GT outside this dataset's range as ignored with the same range (the chips cover the
        GT valid under ``valid_range``; a pipeline without ``MarkValidRange`` would train every
        other GT as a normal positive, one with another range would ignore GT the chips cover).
        Pipelines that pack nothing (enumeration, browsing) are not checked."""
        from mmdet.datasets.transforms import PackDetInputs
        transforms = getattr(self.pipeline, 'transforms', [])
        if not any(isinstance(t, PackDetInputs) for t in transforms):
            return
        marks = [t for t in transforms if isinstance(t, MarkValidRange)]
        if self.reference == 'original':
            raise ValueError(
                "ChipDataset(reference='original', scale_ranges=...) cannot train yet: its chip "
                'pipeline has no per-scale MarkValidRange (unfinished). SNIP configs draw their '
                'scale per sample with MarkValidRange(reference=\'original\') instead')
        want = (tuple(self.valid_range), 'resized')
        for t in marks:
            if (tuple(t.valid_range), t.reference) != want:
                raise ValueError(
                    f'ChipDataset: the pipeline\'s {t!r} disagrees with the dataset\'s '
                    f'valid_range={self.valid_range} (reference=\'resized\'): the chips would '
                    'cover other GT than the rule keeps valid. Give both the same range')
        if not marks and not is_unbounded(self.valid_range):
            raise ValueError(
                f'ChipDataset: valid_range={self.valid_range} but the pipeline has no '
                'MarkValidRange, so GT outside the range would be trained as valid (the range '
                "rule silently off). Add dict(type='MarkValidRange', valid_range="
                f"{self.valid_range}, reference='resized', keep_empty=True) after "
                "ResizeToChipScale, or set valid_range=(0, 'inf') to train every GT")

    # ------------------------------------------------------------------ mmengine wrapper API
    @property
    def metainfo(self) -> dict:
        """Meta information of the inner dataset (a copy)."""
        return copy.deepcopy(self._metainfo)

    def full_init(self) -> None:
        """Fully initialise the inner dataset, then load (cache) or compute the enumeration."""
        if self._fully_initialized:
            return
        self.dataset.full_init()
        self.cache_path = resolve_cache_path(self.cache_dir, self._cache_key(),
                                             annotation_file(self.dataset))
        arrays = load_cache(self.cache_path)
        self.cache_hit = arrays is not None
        if arrays is None:
            arrays = self._enumerate()
            save_cache(self.cache_path, arrays)
        self._img_idx = arrays['img_idx']
        self._scale_idx = arrays['scale_idx']
        self._chips = arrays['chips']
        self._kind = arrays['kind']
        self._pool_start = arrays['pool_start']  # (num_images + 1,) offsets into the pool
        self._pool_scale = arrays['pool_scale']
        self._pool_chips = arrays['pool_chips']
        if self.scale_repeats is not None:
            self._repeat_scales()
        self._fully_initialized = True

    def _repeat_scales(self) -> None:
        """List every positive item of factor ``k`` ``scale_repeats[k]`` times, in place (the
        copies follow the original, so the item order stays grouped by image)."""
        reps = np.asarray(self.scale_repeats, dtype=np.int64)
        pos = self._kind == KIND_POS
        counts = np.ones(len(self._kind), dtype=np.int64)
        counts[pos] = reps[self._scale_idx[pos].astype(np.int64)]
        self._img_idx = np.repeat(self._img_idx, counts)
        self._scale_idx = np.repeat(self._scale_idx, counts)
        self._chips = np.repeat(self._chips, counts, axis=0)
        self._kind = np.repeat(self._kind, counts)

    def _force(self) -> None:
        if not self._fully_initialized:
            print_log('Please call `full_init()` of ChipDataset manually to accelerate the speed.',
                      logger='current', level=logging.WARNING)
            self.full_init()

    def __len__(self) -> int:
        self._force()
        return int(len(self._img_idx))

    def encode_index(self, epoch: int, i: int) -> int:
        """The index of item ``i`` (``0 <= i < len(self)``) in epoch ``epoch`` (int >= 0):
        ``epoch * len(self) + i``.  What :class:`ChipEpochSampler` yields."""
        n = len(self)
        epoch, i = operator.index(epoch), operator.index(i)
        if epoch < 0:
            raise ValueError(f'epoch must be an int >= 0; got {epoch}')
        if not 0 <= i < n:
            raise IndexError(f'ChipDataset item {i} out of range for {n} items')
        return epoch * n + i

    def decode_index(self, idx: int) -> Tuple[int, int]:
        """``(epoch, item)`` of an index: ``divmod(idx, len(self))`` for ``idx >= 0``; Python's
        negative indices ``-len(self) <= idx < 0`` are items of epoch 0."""
        n = len(self)
        idx = operator.index(idx)
        if n == 0 or idx < -n:
            raise IndexError(f'ChipDataset index {idx} out of range for {n} items')
        if idx < 0:
            return 0, idx + n
        epoch, i = divmod(idx, n)
        return epoch, i

    @property
    def num_pos(self) -> int:
        self._force()
        return int((self._kind == KIND_POS).sum())

    @property
    def num_neg(self) -> int:
        self._force()
        return int((self._kind == KIND_NEG).sum())

    def get_chip_info(self, idx: int) -> dict:
        """``dict(img_idx, scale_factor, chip, chip_type, epoch)`` of index ``idx`` (epoch-encoded,
        see :meth:`decode_index`; chip: float32 xyxy in pixels of the image resized by
        ``scale_factor``)."""
        self._force()
        epoch, idx = self.decode_index(idx)
        img_idx = int(self._img_idx[idx])
        if self._kind[idx] == KIND_POS:
            scale_idx, chip, kind = int(self._scale_idx[idx]), self._chips[idx], 'pos'
        else:
            scale_idx, chip = self._draw_negative(idx, img_idx, epoch)
            kind = 'neg'
        return dict(img_idx=img_idx, scale_factor=self.scale_factors[scale_idx],
                    chip=np.array(chip, dtype=np.float32), chip_type=kind, epoch=epoch)

    def get_data_info(self, idx: int) -> dict:
        """Inner data info of the item's image + ``chip_scale_factor``, ``chip``, ``chip_type``
        (``idx`` epoch-encoded, as for ``__getitem__``; mmdet's ``AspectRatioBatchSampler`` calls
        this with the sampler's indices)."""
        info = self.get_chip_info(idx)
        data_info = self.dataset.get_data_info(info['img_idx'])
        data_info['chip_scale_factor'] = float(info['scale_factor'])
        data_info['chip'] = info['chip']
        data_info['chip_type'] = info['chip_type']
        return data_info

    def prepare_data(self, idx: int):
        return self.pipeline(self.get_data_info(idx))

    def __getitem__(self, idx: int):
        """The pipeline's output for index ``idx`` (epoch-encoded, see :meth:`decode_index`)."""
        self._force()
        epoch, _ = self.decode_index(idx)
        for _ in range(self.max_refetch + 1):
            data = self.prepare_data(idx)
            if data is None:
                idx = self.encode_index(epoch, self._rand_another())
                continue
            return data
        raise Exception(f'ChipDataset: cannot find a valid chip after {self.max_refetch} '
                        'refetches; check the pipeline (e.g. MarkValidRange(keep_empty=True) for '
                        'negative chips)')

    def _rand_another(self) -> int:
        return int(np.random.randint(0, len(self)))

    def _draw_negative(self, idx: int, img_idx: int, epoch: int):
        """Pool chip of negative item ``idx`` in ``epoch``: a pure function of
        ``(seed, epoch, img_idx, slot)``, so every worker draws the same."""
        start, stop = int(self._pool_start[img_idx]), int(self._pool_start[img_idx + 1])
        slot = int(self._chips[idx][0])  # slot number within the image (stored in chips[:, 0])
        rng = np.random.default_rng([self.seed, epoch, img_idx])
        j = int(rng.permutation(stop - start)[slot])
        return int(self._pool_scale[start + j]), self._pool_chips[start + j]

    # ------------------------------------------------------------------ enumeration
    def _ranges(self) -> List:
        """One configured range per factor (converted to pixels per image-scale)."""
        if self.reference == 'resized':
            return [self.valid_range] * len(self.scale_factors)
        return list(self.scale_ranges)

    def _clip_boxes(self) -> bool:
        """``clip_object_border`` of the pipeline's ``ResizeToChipScale`` (True without one)."""
        resize = [t for t in getattr(self.pipeline, 'transforms', [])
                  if isinstance(t, ResizeToChipScale)]
        return bool(resize[0].clip_object_border) if resize else True

    def _proposals_table(self) -> Optional[dict]:
        """The proposals table when negative chips are mined, checked to cover every image."""
        if not self.neg_proposals_file or self.neg_chips_per_image == 0:
            return None
        table = load_proposals(self.neg_proposals_file)
        images = []
        for i in range(len(self.dataset)):
            info = self.dataset.get_data_info(i)
            images.append((info.get('img_path'), info.get('img_id')))
        check_proposals_cover(table, images, f'neg_proposals_file {self.neg_proposals_file!r}')
        return table

    def _enumerate(self) -> dict:
        ds = self.dataset
        n_img = len(ds)
        ranges, clip = self._ranges(), self._clip_boxes()
        table = self._proposals_table()
        img_idx, scale_idx, chips, kind = [], [], [], []
        pool_counts = np.zeros(n_img, dtype=np.int64)
        pool_scale, pool_chips = [], []
        bar = ProgressBar(n_img, file=sys.stdout) if self.show_progress and get_rank() == 0 \
            and n_img > 0 else None
        for i in range(n_img):
            info = ds.get_data_info(i)
            w, h = info.get('width'), info.get('height')
            if not w or not h:
                raise ValueError('ChipDataset needs the image size in the data info (width/'
                                 f'height); image {i} ({info.get("img_path")}) has '
                                 f'width={w}, height={h}')
            insts = info.get('instances', [])
            boxes = np.array([inst['bbox'] for inst in insts], dtype=np.float64).reshape(-1, 4)
            ignore = np.array([bool(inst.get('ignore_flag', 0)) for inst in insts], dtype=bool)
            props = None if table is None else lookup_proposals(
                table, info.get('img_path'), info.get('img_id'), self.neg_proposals_file)
            pos, neg = enumerate_image_chips(boxes, ignore, int(w), int(h), self.scale_factors,
                                             ranges, self.reference, self.chip_size, self.stride,
                                             props, self.keep_empty, clip)
            for k, cs in pos:
                img_idx.append(np.full(len(cs), i))
                scale_idx.append(np.full(len(cs), k))
                chips.append(cs)
                kind.append(np.full(len(cs), KIND_POS))
            n_pool = 0
            for k, cs in neg:
                pool_scale.append(np.full(len(cs), k))
                pool_chips.append(cs)
                n_pool += len(cs)
            pool_counts[i] = n_pool
            n_slots = min(self.neg_chips_per_image, n_pool)
            if n_slots:
                img_idx.append(np.full(n_slots, i))
                scale_idx.append(np.full(n_slots, -1))
                slot_rows = np.zeros((n_slots, 4))
                slot_rows[:, 0] = np.arange(n_slots)  # slot number, see _draw_negative
                chips.append(slot_rows)
                kind.append(np.full(n_slots, KIND_NEG))
            if bar is not None:
                bar.update()
        if bar is not None:
            sys.stdout.write('\n')

        def cat(parts, shape, dtype):
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(shape, dtype)

        return dict(
            img_idx=cat(img_idx, (0,), np.int64), scale_idx=cat(scale_idx, (0,), np.int16),
            chips=cat(chips, (0, 4), np.float32), kind=cat(kind, (0,), np.int8),
            pool_start=np.concatenate([[0], np.cumsum(pool_counts)]).astype(np.int64),
            pool_scale=cat(pool_scale, (0,), np.int16), pool_chips=cat(pool_chips, (0, 4),
                                                                       np.float32))

    # ------------------------------------------------------------------ cache
    def _cache_key(self) -> str:
        params = dict(scale_factors=self.scale_factors, reference=self.reference,
                      valid_range=self.valid_range, scale_ranges=self.scale_ranges,
                      chip_size=self.chip_size, stride=self.stride, keep_empty=self.keep_empty,
                      clip_boxes=self._clip_boxes(),
                      neg_chips_per_image=self.neg_chips_per_image if self.neg_proposals_file
                      else 0)
        props = self.neg_proposals_file if self.neg_chips_per_image else None
        return cache_key(self.dataset, params, props)

    def __repr__(self) -> str:
        n = len(self) if self._fully_initialized else 'not initialised'
        return (f'{self.__class__.__name__}(num_items={n}, scale_factors={self.scale_factors}, '
                f'reference={self.reference!r}, chip_size={self.chip_size}, stride={self.stride}'
                + (f', scale_repeats={self.scale_repeats})' if self.scale_repeats else ')'))
