"""ChipScaleBatchSampler: every batch holds chips of one pyramid scale (SNIP §6.1), every index of
the sampler is batched exactly once, and it builds from a config through mmdet's registry."""
import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmdet.registry import DATA_SAMPLERS
from mmdet_scalenorm.datasets import ChipDataset, ChipEpochSampler, ChipInfiniteSampler
from mmdet_scalenorm.datasets.samplers.chip_scale_batch_sampler import ChipScaleBatchSampler
from tests.test_datasets.test_chip_epoch_sampler import chip_cfg, coco  # noqa: F401


@pytest.fixture(scope='module')
def ds(coco):  # noqa: F811
    cfg = chip_cfg(coco)
    cfg.pop('type')
    out = ChipDataset(**cfg)
    assert len({out.get_chip_info(i)['scale_factor'] for i in range(len(out))}) >= 3
    return out


def scale_of(ds, idx):
    return ds.get_chip_info(idx)['scale_factor']


@settings(max_examples=15, deadline=None)
@given(batch_size=st.integers(1, 5), drop_last=st.booleans(), seed=st.integers(0, 50),
       epoch=st.integers(0, 3))
def test_one_scale_per_batch_every_index_once(ds, batch_size, drop_last, seed, epoch):
    sampler = ChipEpochSampler(ds, shuffle=True, seed=seed, round_up=False)
    sampler.set_epoch(epoch)
    bs = ChipScaleBatchSampler(sampler, batch_size, drop_last=drop_last)
    batches = list(bs)
    for b in batches:
        assert 1 <= len(b) <= batch_size
        assert len({scale_of(ds, i) for i in b}) == 1
    flat = [i for b in batches for i in b]
    assert len(flat) == len(set(flat))
    stream = list(sampler)
    if drop_last:  # only full batches, and per scale only fewer than batch_size chips are lost
        assert all(len(b) == batch_size for b in batches)
        for s in {scale_of(ds, i) for i in stream}:
            n = sum(scale_of(ds, i) == s for i in stream)
            assert sum(scale_of(ds, i) == s for i in flat) == n - n % batch_size
    else:
        assert sorted(flat) == sorted(stream)
    if drop_last:  # the length (mmdet's estimate) bounds the full batches
        assert len(batches) <= len(bs)


def test_infinite_sampler_batches_and_registry(ds):
    sampler = DATA_SAMPLERS.build(dict(type='ChipInfiniteSampler', dataset=ds, seed=3))
    assert isinstance(sampler, ChipInfiniteSampler)
    bs = DATA_SAMPLERS.build(dict(type='ChipScaleBatchSampler', sampler=sampler, batch_size=3))
    first = list(itertools.islice(iter(bs), 2 * len(ds)))
    assert all(len(b) == 3 and len({scale_of(ds, i) for i in b}) == 1 for b in first)


def test_errors_name_the_fix(ds):
    from mmengine.dataset import DefaultSampler
    with pytest.raises(ValueError, match='ChipDataset'):
        ChipScaleBatchSampler(DefaultSampler(list(range(5))), 2)
    # the parent's own checks are kept
    with pytest.raises(ValueError, match='batch_size'):
        ChipScaleBatchSampler(ChipEpochSampler(ds), 0)
    with pytest.raises(TypeError, match='Sampler'):
        ChipScaleBatchSampler([1, 2, 3], 2)


def test_dataloader_batches_are_one_scale(ds):
    """Through a torch DataLoader with the record pipeline: each batch's outputs share a scale."""
    sampler = ChipEpochSampler(ds, shuffle=True, seed=0)
    loader = torch.utils.data.DataLoader(ds, batch_sampler=ChipScaleBatchSampler(sampler, 2),
                                         collate_fn=list, num_workers=0)
    seen = 0
    for batch in loader:
        assert len({out['scale'] for out in batch}) == 1
        seen += len(batch)
    assert seen == len(list(sampler))
