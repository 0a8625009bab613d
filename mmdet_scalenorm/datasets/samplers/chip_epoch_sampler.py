"""Samplers whose indices carry the epoch, for SNIPER's per-epoch negative chips.

SNIPER re-samples the negative chips of every image each epoch (used by ISN §3.3.1, "the same chip
generation strategy in SNIPER").  :class:`~mmdet_scalenorm.datasets.ChipDataset` draws them as a
pure function of ``(seed, epoch, image, slot)``, where the epoch is read from the index:
``idx = epoch * len(dataset) + i`` (``ChipDataset.encode_index``).  mmengine tells the epoch only
to the *sampler* (``DistSamplerSeedHook.before_train_epoch`` and ``IterBasedTrainLoop``'s
dataloader restart call ``sampler.set_epoch``), and the sampler's indices are the one channel that
reaches every dataloader worker, persistent or not, so the epoch travels in them:

* :class:`ChipEpochSampler` — mmengine's ``DefaultSampler`` (same order, shuffling by
  ``seed + epoch``, ``round_up`` and rank slicing) whose indices are ``encode_index(epoch, i)``.
  For ``EpochBasedTrainLoop`` (and ``IterBasedTrainLoop`` without an infinite sampler).
* :class:`ChipInfiniteSampler` — mmengine's ``InfiniteSampler`` (same infinite stream of
  permutations) whose ``p``-th pass over the data is epoch ``p``.  For ``IterBasedTrainLoop``.

Config::

    train_dataloader = dict(sampler=dict(type='ChipEpochSampler', shuffle=True),
                            dataset=dict(type='ChipDataset', ...))
"""
from __future__ import annotations

from typing import Iterator, Optional, Sized

import numpy as np
import torch
from mmengine.dataset import DefaultSampler, InfiniteSampler
from mmdet.registry import DATA_SAMPLERS

__all__ = ['ChipEpochSampler', 'ChipInfiniteSampler']


def _check_chip_dataset(dataset) -> None:
    if not (callable(getattr(dataset, 'encode_index', None))
            and callable(getattr(dataset, 'decode_index', None))):
        raise ValueError('dataset must be a ChipDataset (an epoch-encoded dataset with '
                         f'encode_index/decode_index); got {type(dataset).__name__}. Use '
                         "mmengine's DefaultSampler / InfiniteSampler for other datasets")
    if len(dataset) == 0:
        raise ValueError('dataset holds no chips (no GT valid at any scale?); check its '
                         'valid_range / scale_ranges / scale_factors, or set keep_empty=True')


def _epoch_offset(dataset, epoch: int) -> int:
    """``encode_index(epoch, i) - i``: the encoding is linear in ``i`` (checked once here)."""
    n = len(dataset)
    base = dataset.encode_index(epoch, 0)
    assert dataset.encode_index(epoch, n - 1) == base + n - 1
    return base


@DATA_SAMPLERS.register_module()
class ChipEpochSampler(DefaultSampler):
    """``DefaultSampler`` over a ChipDataset yielding epoch-encoded indices (SNIPER negatives).

    Args:
        dataset (ChipDataset): the dataset (needs ``encode_index``).  An empty one raises
            ``ValueError`` (mmengine's samplers would divide by zero or spin forever).
        shuffle, seed, round_up: as mmengine's ``DefaultSampler``; the order of epoch ``e`` is
            ``DefaultSampler``'s order of epoch ``e``, item by item.
    """

    def __init__(self, dataset: Sized, shuffle: bool = True, seed: Optional[int] = None,
                 round_up: bool = True) -> None:
        _check_chip_dataset(dataset)
        super().__init__(dataset, shuffle=shuffle, seed=seed, round_up=round_up)

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch (int >= 0): the shuffle of ``DefaultSampler`` and the dataset's draws."""
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ValueError(f'epoch must be an int >= 0; got {epoch!r}')
        super().set_epoch(int(epoch))

    def __iter__(self) -> Iterator[int]:
        base = _epoch_offset(self.dataset, self.epoch)
        return iter([base + i for i in super().__iter__()])


@DATA_SAMPLERS.register_module()
class ChipInfiniteSampler(InfiniteSampler):
    """``InfiniteSampler`` over a ChipDataset; pass ``p`` over the data is epoch ``p``.

    The stream is ``InfiniteSampler``'s (permutations from one generator seeded by ``seed``, then
    sliced by rank), each index offset by ``encode_index(p, 0)`` for the ``p``-th permutation.

    Args:
        dataset (ChipDataset): the dataset (needs ``encode_index``).
        shuffle, seed: as mmengine's ``InfiniteSampler``.
    """

    def __init__(self, dataset: Sized, shuffle: bool = True,
                 seed: Optional[int] = None) -> None:
        _check_chip_dataset(dataset)
        super().__init__(dataset, shuffle=shuffle, seed=seed)

    def _infinite_indices(self) -> Iterator[int]:
        g = torch.Generator()
        g.manual_seed(self.seed)
        epoch = 0
        while True:
            order = torch.randperm(self.size, generator=g) if self.shuffle else \
                torch.arange(self.size)
            base = _epoch_offset(self.dataset, epoch)
            yield from (order + base).tolist()
            epoch += 1
