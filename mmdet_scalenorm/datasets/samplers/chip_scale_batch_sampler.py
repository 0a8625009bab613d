"""One pyramid scale per batch (SNIP §6.1: "we ... use one resolution per batch").

SNIP trains each batch at a single image resolution; with SNIPER epochs a shuffled stream of
chips mixes the five scales in every batch instead.  :class:`ChipScaleBatchSampler` groups the
(epoch-encoded) indices of a :class:`~mmdet_scalenorm.datasets.ChipDataset` sampler by the scale
of their chip, as mmdet's ``AspectRatioBatchSampler`` groups by aspect ratio: a batch is yielded
when one scale's bucket is full, so every batch holds chips of one scale.  At the end of a finite
sampler the partial buckets are yielded one scale at a time (dropped with ``drop_last``), so the
one-scale rule holds for every batch.  ``len()`` is the parent's estimate: with ``drop_last`` an
upper bound on the batches, without it up to one partial batch per scale more.  Config::

    train_dataloader = dict(
        sampler=dict(type='ChipInfiniteSampler', shuffle=True),
        batch_sampler=dict(type='ChipScaleBatchSampler'),
        dataset=dict(type='ChipDataset', ...))
"""
from typing import Dict, Iterator, List

from mmdet.datasets.samplers import AspectRatioBatchSampler
from mmdet.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class ChipScaleBatchSampler(AspectRatioBatchSampler):
    """Batches of chips of one pyramid scale (the chip's ``scale_factor`` is the bucket).

    Args:
        sampler: a sampler over a ChipDataset (``ChipInfiniteSampler`` / ``ChipEpochSampler``);
            its dataset must have ``get_chip_info``.
        batch_size (int): chips per batch.
        drop_last (bool): drop the partial batches left at the end of a finite sampler.
    """

    def __init__(self, sampler, batch_size: int, drop_last: bool = False) -> None:
        super().__init__(sampler, batch_size, drop_last)
        dataset = getattr(sampler, 'dataset', None)
        if not callable(getattr(dataset, 'get_chip_info', None)):
            raise ValueError('ChipScaleBatchSampler groups chips by scale and needs a sampler over '
                             'a ChipDataset (ChipInfiniteSampler / ChipEpochSampler); got a '
                             f'sampler over {type(dataset).__name__}. Use '
                             "mmdet's AspectRatioBatchSampler for other datasets")
        self._scale_buckets: Dict[float, List[int]] = {}

    def __iter__(self) -> Iterator[List[int]]:
        dataset = self.sampler.dataset
        for idx in self.sampler:
            scale = float(dataset.get_chip_info(idx)['scale_factor'])
            bucket = self._scale_buckets.setdefault(scale, [])
            bucket.append(idx)
            if len(bucket) == self.batch_size:
                yield bucket[:]
                del bucket[:]
        left, self._scale_buckets = self._scale_buckets, {}
        for bucket in left.values():  # the end of a finite sampler: one scale per batch still
            for i in range(0, len(bucket), self.batch_size):
                batch = bucket[i:i + self.batch_size]
                if len(batch) == self.batch_size or not self.drop_last:
                    yield batch
