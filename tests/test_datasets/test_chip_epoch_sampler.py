"""Tests of ChipEpochSampler / ChipInfiniteSampler: per-epoch SNIPER negative chips (ISN §3.3.1)
that are the same in every dataloader worker, persistent or not, and change with the epoch."""
import itertools
import json
import os
from types import SimpleNamespace

import numpy as np
import pytest
from mmengine.dataset import DefaultSampler, InfiniteSampler
from mmengine.hooks import DistSamplerSeedHook
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from torch.utils.data import DataLoader

from mmdet.datasets.samplers import AspectRatioBatchSampler
from mmdet.registry import DATA_SAMPLERS
from mmdet_scalenorm.datasets import ChipDataset, ChipEpochSampler, ChipInfiniteSampler
from tests.test_datasets.test_chip_dataset import CHIP, STRIDE, _write_coco, inner_cfg

# Proposals (original pixels) on d.png (image 3) away from its GT: a pool of several negative chips.
PROPS = {'a.png': [], 'b.png': [], 'c.png': [],
         'd.png': [[200, 10, 230, 40], [10, 170, 40, 195], [260, 60, 290, 90],
                   [180, 100, 200, 130]]}
NEG_IMG = 3


def record(results):
    """Cheap pipeline: what the chip is, and which process produced it."""
    return dict(chip_type=results['chip_type'], chip=tuple(results['chip'].tolist()),
                scale=results['chip_scale_factor'], img=os.path.basename(results['img_path']),
                pid=os.getpid())


def as_list(batch):
    return list(batch)


@pytest.fixture(scope='module')
def coco(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('chip_sampler_coco'))
    pfile = os.path.join(root, 'props.json')
    with open(pfile, 'w') as f:
        json.dump(PROPS, f)
    return dict(root=root, ann=_write_coco(root), props=pfile)


def chip_cfg(coco, **kw):
    return {**dict(type='ChipDataset', dataset=inner_cfg(coco), chip_size=CHIP, stride=STRIDE,
                   neg_proposals_file=coco['props'], neg_chips_per_image=2, pipeline=[record],
                   cache_dir=False, show_progress=False), **kw}


@pytest.fixture(scope='module')
def ds(coco):
    cfg = chip_cfg(coco)
    cfg.pop('type')
    out = ChipDataset(**cfg)
    assert out.num_neg == 2 and out.num_pos > 0
    return out


def neg_items(ds):
    return [i for i in range(len(ds)) if ds.get_chip_info(i)['chip_type'] == 'neg']


def expected_negatives(ds, epoch):
    """Item -> (chip, scale) of epoch ``epoch``: slot s of image m holds pool chip
    default_rng([seed, epoch, m]).permutation(pool size)[s] (the ChipDataset docstring's rule)."""
    out = {}
    for slot, i in enumerate(neg_items(ds)):  # all negatives are d.png's, slots in item order
        start, stop = ds._pool_start[NEG_IMG], ds._pool_start[NEG_IMG + 1]
        j = np.random.default_rng([ds.seed, epoch, NEG_IMG]).permutation(stop - start)[slot]
        out[i] = (tuple(ds._pool_chips[start + j].tolist()),
                  ds.scale_factors[ds._pool_scale[start + j]])
    return out


def by_item(ds, indices, outputs):
    """item -> (chip, scale) of the negative outputs; checks each index's decoded epoch."""
    res = {}
    for idx, out in zip(indices, outputs):
        _, item = ds.decode_index(idx)
        if out['chip_type'] == 'neg':
            res[item] = (out['chip'], out['scale'])
    return res


# ------------------------------------------------------------------------------------ workers
def test_same_epoch_same_negatives_in_persistent_workers(ds):
    """Two dataloaders (2 persistent workers each, different shuffles) agree per epoch; the
    workers keep their dataset copies across epochs and still draw the new epoch's chips."""
    pool_size = ds._pool_start[NEG_IMG + 1] - ds._pool_start[NEG_IMG]
    assert pool_size >= 3
    assert expected_negatives(ds, 0) != expected_negatives(ds, 1)  # the rule differs here
    results = []
    for seed in (0, 1):
        sampler = ChipEpochSampler(ds, shuffle=True, seed=seed)
        loader = DataLoader(ds, batch_size=2, sampler=sampler, num_workers=2,
                            persistent_workers=True, collate_fn=as_list)
        per_epoch, pids = {}, {}
        for epoch in (0, 1):
            sampler.set_epoch(epoch)
            indices = list(sampler)
            outs = [x for batch in loader for x in batch]
            assert len(outs) == len(indices) == len(ds)
            assert all(ds.decode_index(i)[0] == epoch for i in indices)
            per_epoch[epoch] = by_item(ds, indices, outs)
            pids[epoch] = {o['pid'] for o in outs}
        assert pids[0] == pids[1] and len(pids[0]) == 2 and os.getpid() not in pids[0]
        results.append(per_epoch)
        del loader
    for epoch in (0, 1):
        assert results[0][epoch] == results[1][epoch] == expected_negatives(ds, epoch)
    assert results[0][0] != results[0][1]


# ------------------------------------------------------------------------------------ epochs
def test_different_epochs_different_negatives(ds):
    neg = neg_items(ds)
    pos = [i for i in range(len(ds)) if i not in neg]
    draws = []
    for epoch in range(8):
        got = {i: ds.get_chip_info(ds.encode_index(epoch, i)) for i in range(len(ds))}
        assert all(x['epoch'] == epoch for x in got.values())
        assert {i: (tuple(got[i]['chip'].tolist()), got[i]['scale_factor']) for i in neg} == \
            expected_negatives(ds, epoch)
        draws.append(tuple((tuple(got[i]['chip'].tolist()), got[i]['scale_factor'])
                           for i in neg))
        assert len(set(draws[-1])) == len(neg)             # slots of an image are distinct
        for i in pos:                                      # positives do not depend on the epoch
            np.testing.assert_array_equal(got[i]['chip'], ds.get_chip_info(i)['chip'])
    assert len(set(draws)) >= 4                            # re-sampled epoch after epoch


def test_epoch_loop_via_dist_sampler_seed_hook(ds):
    """EpochBasedTrainLoop's path: DistSamplerSeedHook.before_train_epoch -> sampler.set_epoch,
    then one pass over the dataloader; every item once per epoch, in DefaultSampler's order."""
    sampler = ChipEpochSampler(ds, shuffle=True, seed=3, round_up=False)
    loader = DataLoader(ds, batch_size=3, sampler=sampler, num_workers=0, collate_fn=as_list)
    runner = SimpleNamespace(epoch=0, train_loop=SimpleNamespace(dataloader=loader))
    hook = DistSamplerSeedHook()
    orders = []
    for epoch in (0, 1):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        assert sampler.epoch == epoch
        indices = list(sampler)
        plain = DefaultSampler(ds, shuffle=True, seed=3, round_up=False)
        plain.set_epoch(epoch)
        assert indices == [ds.encode_index(epoch, i) for i in plain]
        assert sorted(ds.decode_index(i)[1] for i in indices) == list(range(len(ds)))
        outs = [x for batch in loader for x in batch]
        assert by_item(ds, indices, outs) == expected_negatives(ds, epoch)
        orders.append([ds.decode_index(i)[1] for i in indices])
    assert orders[0] != orders[1]


def test_infinite_sampler_passes_are_epochs(ds):
    n = len(ds)
    ours = list(itertools.islice(iter(ChipInfiniteSampler(ds, shuffle=True, seed=5)), 3 * n))
    ref = list(itertools.islice(iter(InfiniteSampler(ds, shuffle=True, seed=5)), 3 * n))
    assert [ds.decode_index(i)[1] for i in ours] == ref          # InfiniteSampler's stream
    assert [ds.decode_index(i)[0] for i in ours] == [0] * n + [1] * n + [2] * n
    outs = [ds[i] for i in ours[n:2 * n]]
    assert by_item(ds, ours[n:2 * n], outs) == expected_negatives(ds, 1)
    plain = list(itertools.islice(iter(ChipInfiniteSampler(ds, shuffle=False, seed=0)), 2 * n))
    assert plain == list(range(2 * n))  # encode_index(1, i) == n + i


def test_default_sampler_still_works(ds):
    """Plain indices are epoch 0: mmengine's DefaultSampler works, without re-sampling."""
    sampler = DefaultSampler(ds, shuffle=True, seed=0)
    loader = DataLoader(ds, batch_size=2, sampler=sampler, num_workers=0, collate_fn=as_list)
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        indices = list(sampler)
        assert sorted(indices) == list(range(len(ds)))
        outs = [x for batch in loader for x in batch]
        assert by_item(ds, indices, outs) == expected_negatives(ds, 0)


def test_refetch_stays_in_epoch(coco):
    """A None from the pipeline re-fetches another item of the *same* epoch."""
    cfg = chip_cfg(coco, pipeline=[lambda r: r if r['chip_type'] == 'neg' else None])
    cfg.pop('type')
    d = ChipDataset(**cfg)
    pos = [i for i in range(len(d)) if d.get_chip_info(i)['chip_type'] == 'pos']
    np.random.seed(0)
    for epoch in (0, 1, 2):
        allowed = set(expected_negatives(d, epoch).values())
        for i in pos[:4]:
            out = d[d.encode_index(epoch, i)]
            assert out['chip_type'] == 'neg'
            assert (tuple(out['chip'].tolist()), out['chip_scale_factor']) in allowed


# ------------------------------------------------------------------------------------ config
def test_built_from_config_with_aspect_ratio_batch_sampler(coco):
    """The documented config builds through mmengine's Runner; mmdet's AspectRatioBatchSampler
    (which calls get_data_info on the sampler's indices) passes the encoded indices through."""
    cfg = dict(batch_size=2, num_workers=0, collate_fn=as_list,
               sampler=dict(type='ChipEpochSampler', shuffle=True),
               batch_sampler=dict(type='AspectRatioBatchSampler'), dataset=chip_cfg(coco))
    with DefaultScope.overwrite_default_scope('mmdet'):
        loader = Runner.build_dataloader(cfg, seed=0)
    assert isinstance(loader.batch_sampler, AspectRatioBatchSampler)
    sampler = loader.batch_sampler.sampler
    assert isinstance(sampler, ChipEpochSampler) and sampler.seed == 0
    assert DATA_SAMPLERS.get('ChipEpochSampler') is ChipEpochSampler
    assert DATA_SAMPLERS.get('ChipInfiniteSampler') is ChipInfiniteSampler
    hook, ds = DistSamplerSeedHook(), loader.dataset
    runner = SimpleNamespace(epoch=2, train_loop=SimpleNamespace(dataloader=loader))
    hook.before_train_epoch(runner)  # the batch_sampler.sampler branch of the hook
    assert sampler.epoch == 2
    indices = [i for batch in loader.batch_sampler for i in batch]
    outs = [x for batch in loader for x in batch]
    assert sorted(ds.decode_index(i) for i in indices) == [(2, i) for i in range(len(ds))]
    assert by_item(ds, indices, outs) == expected_negatives(ds, 2)


# ------------------------------------------------------------------------------------ bad input
def test_bad_input(ds, coco):
    with pytest.raises(ValueError, match='dataset'):
        ChipEpochSampler(list(range(5)))
    with pytest.raises(ValueError, match='dataset'):
        ChipInfiniteSampler(list(range(5)))
    sampler = ChipEpochSampler(ds, seed=0)
    for bad in (-1, 1.5, True, '2'):
        with pytest.raises(ValueError, match='epoch'):
            sampler.set_epoch(bad)
    sampler.set_epoch(np.int64(1))
    assert sampler.epoch == 1
    cfg = chip_cfg(coco, valid_range=(1000, 2000), neg_proposals_file=None)  # nothing valid
    cfg.pop('type')
    empty = ChipDataset(**cfg)
    assert len(empty) == 0
    for cls in (ChipEpochSampler, ChipInfiniteSampler):
        with pytest.raises(ValueError, match='no chips'):
            cls(empty, seed=0)
