"""Data samplers for :class:`~mmdet_scalenorm.datasets.ChipDataset` (SNIPER per-epoch negatives)."""
from .chip_epoch_sampler import ChipEpochSampler, ChipInfiniteSampler  # noqa: F401
from .chip_scale_batch_sampler import ChipScaleBatchSampler  # noqa: F401

__all__ = ['ChipEpochSampler', 'ChipInfiniteSampler', 'ChipScaleBatchSampler']
