"""ValidRangeSampler: seed-for-seed RandomSampler equivalence when the range is unbounded, and the
SNIP §6.1 rule (no proposal outside the closed range is ever sampled) otherwise."""
import copy
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from mmengine.structures import InstanceData

from mmdet.models.task_modules.assigners import MaxIoUAssigner
from mmdet.models.task_modules.samplers import RandomSampler
from mmdet.registry import TASK_UTILS

import mmdet_scalenorm  # noqa: F401
from mmdet_scalenorm.models.task_modules.samplers import ValidRangeSampler
from mmdet_scalenorm.scale import box_scale, valid_gt_mask

ASSIGNER = MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5,
                          match_low_quality=False)


def rand_boxes(gen, n, size=300.0, max_side=150.0):
    xy = torch.rand(n, 2, generator=gen) * size
    wh = torch.rand(n, 2, generator=gen) * max_side + 1
    return torch.cat([xy, xy + wh], dim=1)


def make_case(seed, num_props=120, num_gt=4):
    gen = torch.Generator().manual_seed(seed)
    gt = InstanceData(bboxes=rand_boxes(gen, num_gt),
                      labels=torch.randint(0, 7, (num_gt, ), generator=gen))
    # proposals: jittered copies of GT (positives) plus random boxes (negatives)
    jit = gt.bboxes.repeat(num_props // (2 * max(num_gt, 1)) + 1, 1) if num_gt else rand_boxes(
        gen, 1)
    jit = jit + torch.randn(jit.shape, generator=gen) * 3
    props = InstanceData(priors=torch.cat([jit, rand_boxes(gen, num_props)])[:num_props])
    return props, gt, ASSIGNER.assign(props, gt)


def run(sampler, props, gt, assign, seed, **kw):
    assign = copy.deepcopy(assign)
    torch.manual_seed(seed)
    return sampler.sample(assign, props, gt, **kw), assign


def assert_same(a, b):
    (ra, aa), (rb, ab) = a, b
    for key in ('pos_inds', 'neg_inds', 'priors', 'pos_is_gt', 'pos_assigned_gt_inds',
                'pos_gt_labels', 'pos_gt_bboxes', 'pos_priors', 'neg_priors'):
        assert torch.equal(getattr(ra, key), getattr(rb, key)), key
    assert ra.num_gts == rb.num_gts and ra.avg_factor == rb.avg_factor
    for key in ('gt_inds', 'max_overlaps', 'labels'):  # the in-place add_gt_ is the same too
        assert torch.equal(getattr(aa, key), getattr(ab, key)), key


@pytest.mark.parametrize('add_gt', [True, False])
@pytest.mark.parametrize('kw', [dict(), dict(valid_range=(0, math.inf)),
                                dict(valid_range=(0, None))])
def test_unbounded_is_random_sampler_seed_for_seed(add_gt, kw):
    cfg = dict(num=32, pos_fraction=0.25, neg_pos_ub=-1, add_gt_as_proposals=add_gt)
    base, ours = RandomSampler(**cfg), ValidRangeSampler(**cfg)
    for seed in range(40):
        props, gt, assign = make_case(seed, num_gt=seed % 5)
        assert_same(run(ours, props, gt, assign, seed, **kw), run(base, props, gt, assign, seed))
    # the configured range may also be the unbounded one, overridden per call by None
    ours = ValidRangeSampler(**cfg, valid_range=(0, 'inf'))
    props, gt, assign = make_case(1)
    assert_same(run(ours, props, gt, assign, 1, valid_range=None),
                run(base, props, gt, assign, 1))


def test_bounded_range_excluding_nothing_is_random_sampler():
    cfg = dict(num=32, pos_fraction=0.25)
    base, ours = RandomSampler(**cfg), ValidRangeSampler(**cfg, valid_range=(0, 1e4))
    for seed in range(20):
        props, gt, assign = make_case(seed)
        assert_same(run(ours, props, gt, assign, seed), run(base, props, gt, assign, seed))


def test_range_edges_are_inclusive_and_inf_is_allowed():
    # scales: 16 (= lo), 560 (= hi), 15.9, 560.5, 2000
    props = InstanceData(priors=torch.tensor([
        [0., 0., 16., 16.], [0., 0., 560., 560.], [0., 0., 15.9, 15.9],
        [0., 0., 560.5, 560.5], [0., 0., 2000., 2000.]]))
    gt = InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
    assign = ASSIGNER.assign(props, gt)  # everything negative
    sampler = ValidRangeSampler(num=10, pos_fraction=0.5, valid_range=(16, 560))
    res, _ = run(sampler, props, gt, assign, 0)
    assert sorted(res.neg_inds.tolist()) == [0, 1]
    res, _ = run(sampler, props, gt, assign, 0, valid_range=(16, math.inf))
    assert sorted(res.neg_inds.tolist()) == [0, 1, 3, 4]
    res, _ = run(sampler, props, gt, assign, 0, valid_range=(16.0001, 559.99))
    assert res.neg_inds.numel() == 0 and res.pos_inds.numel() == 0


def test_positives_and_gt_proposals_outside_range_are_not_sampled():
    gt = InstanceData(bboxes=torch.tensor([[0., 0., 10., 10.], [100., 100., 140., 140.]]),
                      labels=torch.tensor([2, 5]))
    props = InstanceData(priors=torch.tensor([
        [0., 0., 10., 10.],        # positive of the small GT, scale 10 -> out
        [101., 101., 140., 140.],  # positive of the large GT, scale 39 -> in
        [200., 200., 230., 230.],  # negative, scale 30 -> in
        [300., 300., 302., 302.]]))  # negative, scale 2 -> out
    assign = ASSIGNER.assign(props, gt)
    assert assign.gt_inds.tolist() == [1, 2, 0, 0]
    sampler = ValidRangeSampler(num=16, pos_fraction=0.5, valid_range=(16, 560))
    res, after = run(sampler, props, gt, assign, 0)
    # candidates after add_gt_: [gt0 (10: out), gt1 (40: in), p0, p1, p2, p3]
    assert res.pos_inds.tolist() == [1, 3]
    assert res.pos_is_gt.tolist() == [1, 0]
    assert res.pos_gt_labels.tolist() == [5, 5]
    assert res.neg_inds.tolist() == [4]
    # the caller's assign_result is extended by add_gt_ as RandomSampler does, not masked
    assert after.gt_inds.tolist() == [1, 2, 1, 2, 0, 0]


def test_nan_and_degenerate_proposals_are_never_sampled():
    props = InstanceData(priors=torch.tensor([
        [0., 0., float('nan'), 20.], [10., 10., 5., 40.], [0., 0., 20., 20.]]))
    gt = InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
    assign = ASSIGNER.assign(props[2:], gt)
    assign.gt_inds = torch.zeros(3, dtype=torch.long)
    assign.max_overlaps = torch.zeros(3)
    assign.labels = torch.full((3, ), -1)
    sampler = ValidRangeSampler(num=8, pos_fraction=0.5, valid_range=(0, 560))
    # NaN is never in range; a degenerate box has scale 0, inside (0, 560) but not (1, 560)
    assert sorted(run(sampler, props, gt, assign, 0)[0].neg_inds.tolist()) == [1, 2]
    assert run(sampler, props, gt, assign, 0, valid_range=(1, 560))[0].neg_inds.tolist() == [2]


def test_per_call_range_overrides_configured_range():
    props = InstanceData(priors=torch.tensor([[0., 0., 10., 10.], [0., 0., 100., 100.]]))
    gt = InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
    assign = ASSIGNER.assign(props, gt)
    sampler = TASK_UTILS.build(dict(type='ValidRangeSampler', num=8, pos_fraction=0.5,
                                    valid_range=(50, 'inf')))
    assert sampler.valid_range == (50.0, math.inf)
    assert run(sampler, props, gt, assign, 0)[0].neg_inds.tolist() == [1]
    assert run(sampler, props, gt, assign, 0, valid_range=(0, 20))[0].neg_inds.tolist() == [0]
    with pytest.raises(ValueError, match='valid_range'):
        run(sampler, props, gt, assign, 0, valid_range=(30, 20))


@pytest.mark.parametrize('bad', [(10, 5), (-1, 5), (1, 2, 3), 'inf', (float('nan'), 3)])
def test_bad_configured_range_raises(bad):
    with pytest.raises(ValueError, match='valid_range'):
        ValidRangeSampler(num=8, pos_fraction=0.5, valid_range=bad)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10**6), lo=st.floats(0, 120), width=st.floats(0, 200),
       add_gt=st.booleans(), num=st.integers(1, 64))
def test_property_only_in_range_candidates_are_sampled(seed, lo, width, add_gt, num):
    props, gt, assign = make_case(seed, num_props=60)
    rng = (lo, lo + width)
    sampler = ValidRangeSampler(num=num, pos_fraction=0.5, add_gt_as_proposals=add_gt,
                                valid_range=rng)
    res, after = run(sampler, props, gt, assign, seed)
    # the rule is computed in float64 (as valid_gt_mask)
    sampled = box_scale(res.priors.double())
    assert ((sampled >= rng[0]) & (sampled <= rng[1])).all()
    candidates = torch.cat([gt.bboxes, props.priors]) if add_gt else props.priors
    scales = box_scale(candidates.double())
    assert (after.gt_inds[res.pos_inds] > 0).all() and (after.gt_inds[res.neg_inds] == 0).all()
    # when the in-range positives are fewer than the quota, all of them are taken
    inside = (scales >= rng[0]) & (scales <= rng[1])
    n_pos = int(((after.gt_inds > 0) & inside).sum())
    assert res.pos_inds.numel() == min(n_pos, int(num * 0.5))
    n_neg = int(((after.gt_inds == 0) & inside).sum())
    assert res.neg_inds.numel() == min(n_neg, num - res.pos_inds.numel())


def test_float32_box_on_the_edge_agrees_with_valid_gt_mask():
    """A float32 box whose float64 scale is exactly ``hi`` (or ``lo``): in float32 its scale
    rounds to 49.4983864 > hi, but the rule is computed in float64, as valid_gt_mask does, so a
    GT that MarkValidRange keeps is also selectable here."""
    box = torch.tensor([[0., 0., 49.9, 49.1]])  # float32 coordinates
    s64 = math.sqrt(float(box[0, 2]) * float(box[0, 3]))
    assert float(box_scale(box)[0]) > s64  # float32 would put it outside (0, s64)
    gt = InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
    assign = ASSIGNER.assign(InstanceData(priors=box), gt)
    sampler = ValidRangeSampler(num=4, pos_fraction=0.5)
    for rng in ((0, s64), (s64, math.inf)):
        assert valid_gt_mask(box, *rng).tolist() == [True]
        res, _ = run(sampler, InstanceData(priors=box), gt, assign, 0, valid_range=rng)
        assert res.neg_inds.tolist() == [0]
    res, _ = run(sampler, InstanceData(priors=box), gt, assign, 0,
                 valid_range=(0, math.nextafter(s64, 0)))
    assert res.neg_inds.numel() == 0 and not valid_gt_mask(box, 0, math.nextafter(s64, 0))[0]
