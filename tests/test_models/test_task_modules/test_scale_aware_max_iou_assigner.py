"""ScaleAwareMaxIoUAssigner: exact MaxIoUAssigner equivalence without ignored GT, the SNIP §6.1
rule (IoU > 0.3 with an ignored GT -> ignore) and the small-prior containment rule (a would-be
negative prior of scale <= small_prior_max_scale with IoF > invalid_iof_thr of an ignored GT ->
ignore) on hand-computed and random cases."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from mmengine.structures import InstanceData

from mmdet.models.task_modules.assigners import MaxIoUAssigner
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import bbox_overlaps

import mmdet_scalenorm  # noqa: F401  (registers the components)
from mmdet_scalenorm.models.task_modules.assigners import ScaleAwareMaxIoUAssigner
from mmdet_scalenorm.models.task_modules.assigners.scale_aware_max_iou_assigner import \
    SCALE_RTOL

RPN_CFG = dict(pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.3, match_low_quality=True,
               ignore_iof_thr=-1)
RCNN_CFG = dict(pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5, match_low_quality=False,
                ignore_iof_thr=-1)
IOF_CFG = dict(pos_iou_thr=0.5, neg_iou_thr=(0.1, 0.5), min_pos_iou=0.2, ignore_iof_thr=0.5,
               gt_max_assign_all=False)
CFGS = [RPN_CFG, RCNN_CFG, IOF_CFG]


def rand_boxes(gen, n, size=200.0, max_side=120.0):
    xy = torch.rand(n, 2, generator=gen) * size
    wh = torch.rand(n, 2, generator=gen) * max_side + 1
    return torch.cat([xy, xy + wh], dim=1)


def instances(priors=None, bboxes=None, labels=None):
    inst = InstanceData()
    if priors is not None:
        inst.priors = priors
    if bboxes is not None:
        inst.bboxes = bboxes
        inst.labels = labels if labels is not None else torch.zeros(len(bboxes), dtype=torch.long)
    return inst


def assert_same(a, b):
    assert a.num_gts == b.num_gts
    assert torch.equal(a.gt_inds, b.gt_inds)
    assert torch.equal(a.max_overlaps, b.max_overlaps)
    assert torch.equal(a.labels, b.labels)


@pytest.mark.parametrize('cfg', CFGS)
@pytest.mark.parametrize('ignore', ['none', 'empty'])
def test_equivalent_to_max_iou_assigner_without_ignored_gt(cfg, ignore):
    ours, base = ScaleAwareMaxIoUAssigner(**cfg), MaxIoUAssigner(**cfg)
    for seed in range(30):
        gen = torch.Generator().manual_seed(seed)
        num_gt = seed % 6  # includes empty GT
        pred = instances(priors=rand_boxes(gen, 50 + seed))
        gt = instances(bboxes=rand_boxes(gen, num_gt),
                       labels=torch.randint(0, 5, (num_gt, ), generator=gen))
        ign = None if ignore == 'none' else instances(bboxes=torch.zeros(0, 4))
        assert_same(ours.assign(pred, gt, ign), base.assign(pred, gt, ign))


@pytest.mark.parametrize('cfg', CFGS)
def test_random_ignored_gt_matches_brute_force(cfg):
    ours, base = ScaleAwareMaxIoUAssigner(**cfg), MaxIoUAssigner(**cfg)
    for seed in range(30):
        gen = torch.Generator().manual_seed(100 + seed)
        priors = rand_boxes(gen, 80)
        gt = instances(bboxes=rand_boxes(gen, seed % 5),
                       labels=torch.randint(0, 5, (seed % 5, ), generator=gen))
        ign = instances(bboxes=rand_boxes(gen, 1 + seed % 4))
        got = ours.assign(instances(priors=priors), gt, ign)
        want = base.assign(instances(priors=priors), gt, ign)
        hit = (bbox_overlaps(priors, ign.bboxes) > 0.3).any(dim=1)
        assert torch.equal(got.gt_inds[hit], torch.full_like(got.gt_inds[hit], -1))
        assert torch.equal(got.labels[hit], torch.full_like(got.labels[hit], -1))
        assert torch.equal(got.max_overlaps[hit], torch.full_like(got.max_overlaps[hit], -1))
        assert torch.equal(got.gt_inds[~hit], want.gt_inds[~hit])
        assert torch.equal(got.labels[~hit], want.labels[~hit])
        assert torch.equal(got.max_overlaps[~hit], want.max_overlaps[~hit])


def test_iou_exactly_thr_is_kept_and_above_is_ignored():
    # prior area 100; ignored boxes inside it with areas 30 and 31 -> IoU 0.30 and 0.31
    priors = torch.tensor([[0., 0., 10., 10.], [100., 0., 110., 10.], [300., 300., 310., 310.]])
    ign = instances(bboxes=torch.tensor([[0., 0., 10., 3.], [100., 0., 110., 3.1]]))
    res = ScaleAwareMaxIoUAssigner(**RCNN_CFG).assign(
        instances(priors=priors), instances(bboxes=torch.zeros(0, 4)), ign)
    # no valid GT: everything is background (0) except the prior with IoU 0.31
    assert res.gt_inds.tolist() == [0, -1, 0]
    assert res.labels.tolist() == [-1, -1, -1]
    assert res.max_overlaps.tolist() == [0, -1, 0]


def test_positive_overlapping_ignored_gt_becomes_ignore():
    priors = torch.tensor([[0., 0., 10., 10.], [50., 50., 60., 60.], [0., 0., 10., 8.]])
    gt = instances(bboxes=torch.tensor([[0., 0., 10., 10.], [50., 50., 60., 60.]]),
                   labels=torch.tensor([3, 4]))
    # ignored box [0,0,10,5] has IoU 0.5 with prior 0 and 5/8=0.625 with prior 2
    ign = instances(bboxes=torch.tensor([[0., 0., 10., 5.]]))
    base = MaxIoUAssigner(**RCNN_CFG).assign(instances(priors=priors), gt, ign)
    assert base.gt_inds.tolist() == [1, 2, 1]
    res = ScaleAwareMaxIoUAssigner(**RCNN_CFG).assign(instances(priors=priors), gt, ign)
    assert res.gt_inds.tolist() == [-1, 2, -1]
    assert res.labels.tolist() == [-1, 4, -1]
    assert res.max_overlaps.tolist() == [-1, 1, -1]


def test_rule_is_iou_not_iof():
    # prior 10x10 fully inside a 40x40 ignored box: IoF 1 but IoU 100/1600 = 0.0625 -> kept
    priors = torch.tensor([[10., 10., 20., 20.]])
    ign = instances(bboxes=torch.tensor([[0., 0., 40., 40.]]))
    gt = instances(bboxes=torch.tensor([[10., 10., 20., 20.]]), labels=torch.tensor([1]))
    res = ScaleAwareMaxIoUAssigner(**RCNN_CFG).assign(instances(priors=priors), gt, ign)
    assert res.gt_inds.tolist() == [1]
    # ...while the parent's ignore_iof_thr still applies when configured
    cfg = dict(RCNN_CFG, ignore_iof_thr=0.5)
    res = ScaleAwareMaxIoUAssigner(**cfg).assign(instances(priors=priors), gt, ign)
    assert res.gt_inds.tolist() == [-1]


def test_crowd_box_through_pack_det_inputs_ignores_priors():
    from mmdet.datasets.transforms import PackDetInputs
    results = dict(
        img=np.zeros((64, 64, 3), np.uint8),
        gt_bboxes=np.array([[0, 0, 20, 20], [30, 30, 60, 60]], np.float32),
        gt_bboxes_labels=np.array([0, 1], np.int64),
        gt_ignore_flags=np.array([False, True]))  # the second is crowd
    sample = PackDetInputs()(results)['data_samples']
    assert len(sample.gt_instances) == 1 and len(sample.ignored_instances) == 1
    priors = torch.tensor([[0., 0., 20., 20.], [30., 30., 60., 58.], [30., 30., 40., 40.]])
    res = ScaleAwareMaxIoUAssigner(**RCNN_CFG).assign(
        instances(priors=priors), sample.gt_instances, sample.ignored_instances)
    # prior 1: IoU 30*28/900 = 0.93 with the crowd box -> ignore; prior 2: IoU 100/900 -> kept
    assert res.gt_inds.tolist() == [1, -1, 0]


def test_empty_priors_and_empty_everything():
    a = ScaleAwareMaxIoUAssigner(**RPN_CFG)
    res = a.assign(instances(priors=torch.zeros(0, 4)), instances(bboxes=torch.zeros(0, 4)),
                   instances(bboxes=torch.tensor([[0., 0., 5., 5.]])))
    assert res.gt_inds.shape == (0, ) and res.max_overlaps.shape == (0, )
    res = a.assign(instances(priors=torch.tensor([[0., 0., 5., 5.]])),
                   instances(bboxes=torch.zeros(0, 4)), instances(bboxes=torch.zeros(0, 4)))
    assert res.gt_inds.tolist() == [0]


def test_chunking_and_gpu_assign_thr_paths_give_same_result():
    gen = torch.Generator().manual_seed(7)
    priors = rand_boxes(gen, 300)
    gt = instances(bboxes=rand_boxes(gen, 4), labels=torch.arange(4))
    ign = instances(bboxes=rand_boxes(gen, 5))
    ref = ScaleAwareMaxIoUAssigner(**RPN_CFG).assign(instances(priors=priors), gt, ign)
    for kw in (dict(chunk_size=1), dict(chunk_size=17), dict(gpu_assign_thr=2)):
        res = ScaleAwareMaxIoUAssigner(**RPN_CFG, **kw).assign(instances(priors=priors), gt, ign)
        assert_same(res, ref)
    assert (ref.gt_inds == -1).any()  # the case is not vacuous


@pytest.mark.skipif(not torch.cuda.is_available(), reason='CUDA unavailable')
@pytest.mark.parametrize('gpu_assign_thr', [-1, 2])
@pytest.mark.parametrize('iof_thr', [None, 0.5])
def test_cuda_matches_cpu(gpu_assign_thr, iof_thr):
    gen = torch.Generator().manual_seed(3)
    priors = torch.cat([rand_boxes(gen, 2000), rand_boxes(gen, 2000, max_side=60)])
    gt = instances(bboxes=rand_boxes(gen, 6), labels=torch.arange(6))
    ign = instances(bboxes=torch.cat([rand_boxes(gen, 5), rand_boxes(gen, 8, max_side=14)]))
    a = ScaleAwareMaxIoUAssigner(**RPN_CFG, gpu_assign_thr=gpu_assign_thr, chunk_size=999,
                                 invalid_iof_thr=iof_thr)
    ref = a.assign(instances(priors=priors), gt, ign)
    res = a.assign(instances(priors=priors.cuda()), gt.to('cuda'), ign.to('cuda'))
    assert res.gt_inds.is_cuda and res.max_overlaps.is_cuda and res.labels.is_cuda
    assert torch.equal(res.gt_inds.cpu(), ref.gt_inds)
    assert torch.equal(res.labels.cpu(), ref.labels)
    assert torch.allclose(res.max_overlaps.cpu(), ref.max_overlaps, atol=1e-6)


@pytest.mark.parametrize('bad', [-0.1, 1.5, 'a', None, True])
def test_bad_invalid_iou_thr_raises(bad):
    with pytest.raises(ValueError, match='invalid_iou_thr'):
        ScaleAwareMaxIoUAssigner(**RPN_CFG, invalid_iou_thr=bad)


def test_build_from_registry_with_edge_thresholds():
    a = TASK_UTILS.build(dict(type='ScaleAwareMaxIoUAssigner', **RPN_CFG, invalid_iou_thr=1))
    assert isinstance(a, ScaleAwareMaxIoUAssigner) and a.invalid_iou_thr == 1.0
    # threshold 1 can never be exceeded: identical to the parent even with ignored GT
    priors = torch.tensor([[0., 0., 10., 10.]])
    ign = instances(bboxes=priors.clone())
    gt = instances(bboxes=torch.zeros(0, 4))
    assert a.assign(instances(priors=priors), gt, ign).gt_inds.tolist() == [0]
    # threshold 0 ignores anything that touches an ignored box
    a0 = ScaleAwareMaxIoUAssigner(**RPN_CFG, invalid_iou_thr=0)
    priors = torch.tensor([[0., 0., 10., 10.], [9., 9., 19., 19.], [10., 10., 20., 20.]])
    assert a0.assign(instances(priors=priors), gt, ign).gt_inds.tolist() == [-1, -1, 0]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), thr=st.floats(0, 1), n_ign=st.integers(0, 4))
def test_property_ignored_exactly_where_iou_exceeds_thr(seed, thr, n_ign):
    gen = torch.Generator().manual_seed(seed)
    priors = rand_boxes(gen, 40, size=60, max_side=40)
    gt = instances(bboxes=rand_boxes(gen, 2, size=60, max_side=40), labels=torch.tensor([0, 1]))
    ign = instances(bboxes=rand_boxes(gen, n_ign, size=60, max_side=40))
    got = ScaleAwareMaxIoUAssigner(**RPN_CFG, invalid_iou_thr=thr, chunk_size=7).assign(
        instances(priors=priors), gt, ign)
    want = MaxIoUAssigner(**RPN_CFG).assign(instances(priors=priors), gt, ign)
    hit = (bbox_overlaps(priors, ign.bboxes) > thr).any(dim=1) if n_ign else torch.zeros(
        40, dtype=torch.bool)
    expected = torch.where(hit, torch.full_like(want.gt_inds, -1), want.gt_inds)
    assert torch.equal(got.gt_inds, expected)


def test_area_prefilter_keeps_priors_near_the_bound():
    # a prior inside an ignored box has IoU = area ratio, the bound the prefilter relies on:
    # 100/324 = 0.309 (> 0.3, ignored), 100/361 = 0.277 (kept)
    priors = torch.tensor([[1., 1., 11., 11.], [101., 101., 111., 111.]])
    ign = instances(bboxes=torch.tensor([[0., 0., 18., 18.], [100., 100., 119., 119.]]))
    res = ScaleAwareMaxIoUAssigner(**RCNN_CFG).assign(
        instances(priors=priors), instances(bboxes=torch.zeros(0, 4)), ign)
    assert res.gt_inds.tolist() == [-1, 0]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), thr=st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.9]),
       bad=st.sampled_from(['none', 'nan', 'negative', 'zero']))
def test_property_prefilter_is_exact_with_degenerate_boxes(seed, thr, bad):
    gen = torch.Generator().manual_seed(seed)
    priors = rand_boxes(gen, 60, size=50, max_side=60)
    ign = rand_boxes(gen, 4, size=50, max_side=60)
    if bad == 'nan':
        priors[::7, 2] = float('nan')
        ign[0, 3] = float('nan')
    elif bad == 'negative':
        priors[::5, 0] = priors[::5, 2] + 3
        ign[1, 1] = ign[1, 3] + 2
    elif bad == 'zero':
        priors[::6, 3] = priors[::6, 1]
        ign[2, 2] = ign[2, 0]
    a = ScaleAwareMaxIoUAssigner(**RPN_CFG, invalid_iou_thr=thr)
    want = (bbox_overlaps(priors, ign) > thr).any(dim=1)
    assert torch.equal(a.overlaps_invalid(priors, ign), want)


@pytest.mark.parametrize('chunk_size', [5, 2**22])
def test_sparse_candidate_path_matches_brute_force(chunk_size):
    # ISN-like ignored GT (tiny and huge) leave few candidate priors: the gathered path runs
    gen = torch.Generator().manual_seed(11)
    priors = torch.cat([rand_boxes(gen, 400, size=900, max_side=200),
                        rand_boxes(gen, 40, size=100, max_side=12)])
    ign = torch.cat([rand_boxes(gen, 3, size=900, max_side=10),
                     rand_boxes(gen, 2, size=100, max_side=10) + torch.tensor([0, 0, 600, 600])])
    priors = torch.cat([priors, ign + torch.rand(5, 4, generator=gen)])  # a few true hits
    a = ScaleAwareMaxIoUAssigner(**RPN_CFG, chunk_size=chunk_size)
    assert a._area_candidates(priors, ign).float().mean() < 0.5
    want = (bbox_overlaps(priors, ign) > 0.3).any(dim=1)
    got = a.overlaps_invalid(priors, ign)
    assert torch.equal(got, want) and want.any()


# --- rule 2: small would-be negative priors containing an ignored GT are ignored ---------------

IOF_ON = dict(invalid_iof_thr=0.5, small_prior_max_scale=64)
NO_GT = dict(bboxes=torch.zeros(0, 4))


def brute_force_rule2(priors, gt, ign, cfg, thr, max_scale, **kw):
    """Rule 1 result, then every 0 of scale <= max_scale with IoF(ign, prior) > thr -> -1."""
    res = ScaleAwareMaxIoUAssigner(**cfg, **kw).assign(instances(priors=priors), gt, ign)
    gt_inds = res.gt_inds.clone()
    if len(ign.bboxes):
        iof = bbox_overlaps(ign.bboxes, priors, mode='iof')  # divides by the ignored GT's area
        w = (priors[:, 2] - priors[:, 0]).clamp(min=0)
        h = (priors[:, 3] - priors[:, 1]).clamp(min=0)
        small = torch.sqrt(w * h) <= max_scale * (1 + SCALE_RTOL)
        gt_inds[(gt_inds == 0) & small & (iof > thr).any(dim=0)] = -1
    return res, gt_inds


def test_tiny_invalid_gt_inside_small_anchor_is_ignored_not_background():
    # a 10x10 ignored GT (ISN: below 16 px) inside anchors of 32, 64 (== max scale), 96 px
    priors = torch.tensor([[0., 0., 32., 32.], [-16., -16., 48., 48.], [-32., -32., 64., 64.],
                           [200., 200., 232., 232.]])
    ign = instances(bboxes=torch.tensor([[11., 11., 21., 21.]]))
    # SNIP rule cannot fire: IoU 100/1024 = 0.098, 100/4096, 100/9216
    assert (bbox_overlaps(priors, ign.bboxes) < 0.3).all()
    for cfg in (RPN_CFG, RCNN_CFG):
        off = ScaleAwareMaxIoUAssigner(**cfg).assign(instances(priors=priors),
                                                     instances(**NO_GT), ign)
        assert off.gt_inds.tolist() == [0, 0, 0, 0]
        on = ScaleAwareMaxIoUAssigner(**cfg, **IOF_ON).assign(instances(priors=priors),
                                                               instances(**NO_GT), ign)
        # 32 and 64 px (closed bound) anchors ignored; the 96 px one (too big) and the anchor
        # that does not touch the GT stay negative
        assert on.gt_inds.tolist() == [-1, -1, 0, 0]
        assert on.labels.tolist() == [-1, -1, -1, -1]
        assert on.max_overlaps[:2].tolist() == [-1, -1]
        assert torch.equal(on.max_overlaps[2:], off.max_overlaps[2:])
    # no upper bound on the prior scale: the 96 px anchor is ignored too
    inf = ScaleAwareMaxIoUAssigner(**RPN_CFG, invalid_iof_thr=0.5,
                                   small_prior_max_scale=float('inf'))
    res = inf.assign(instances(priors=priors), instances(**NO_GT), ign)
    assert res.gt_inds.tolist() == [-1, -1, -1, 0]


def test_iof_exactly_thr_is_kept_and_above_is_ignored():
    # 32 px priors; 10x10 ignored GT sticking out on the right: inside 5x10 = 50 (IoF 0.5)
    # and 6x10 = 60 (IoF 0.6)
    priors = torch.tensor([[0., 0., 32., 32.], [100., 0., 132., 32.]])
    ign = instances(bboxes=torch.tensor([[27., 0., 37., 10.], [126., 0., 136., 10.]]))
    res = ScaleAwareMaxIoUAssigner(**RCNN_CFG, **IOF_ON).assign(
        instances(priors=priors), instances(**NO_GT), ign)
    assert res.gt_inds.tolist() == [0, -1]


def test_iof_is_over_the_ignored_gt_area_not_the_prior_area():
    # 8x8 prior fully inside a 16x10 ignored GT: IoF over the prior would be 1 but over the GT
    # it is 64/160 = 0.4 -> kept; a 6x6 GT inside the other 8x8 prior: IoF 1 -> ignored
    # (IoU 0.4 and 0.5625 would trigger rule 1, so invalid_iou_thr=1 isolates rule 2)
    priors = torch.tensor([[0., 0., 8., 8.], [100., 100., 108., 108.]])
    ign = instances(bboxes=torch.tensor([[0., 0., 16., 10.], [101., 101., 107., 107.]]))
    res = ScaleAwareMaxIoUAssigner(**RCNN_CFG, **IOF_ON, invalid_iou_thr=1).assign(
        instances(priors=priors), instances(**NO_GT), ign)
    assert res.gt_inds.tolist() == [0, -1]
    # prior smaller than the GT can still contain more than half of it: 8x8 inside 10x10 GT
    # gives IoF 0.64 (the prefilter must not require area_gt <= area_prior)
    ign = instances(bboxes=torch.tensor([[0., 0., 10., 10.]]))
    res = ScaleAwareMaxIoUAssigner(**RCNN_CFG, **IOF_ON, invalid_iou_thr=1).assign(
        instances(priors=priors[:1]), instances(**NO_GT), ign)
    assert res.gt_inds.tolist() == [-1]


def test_positive_prior_containing_small_invalid_gt_stays_positive():
    priors = torch.tensor([[0., 0., 32., 32.], [200., 200., 232., 232.], [0., 0., 32., 24.]])
    gt = instances(bboxes=torch.tensor([[0., 0., 32., 32.]]), labels=torch.tensor([3]))
    ign = instances(bboxes=torch.tensor([[11., 11., 21., 21.], [210., 210., 220., 220.]]))
    base = MaxIoUAssigner(**RPN_CFG).assign(instances(priors=priors), gt, ign)
    assert base.gt_inds.tolist() == [1, 0, 1]
    res = ScaleAwareMaxIoUAssigner(**RPN_CFG, **IOF_ON).assign(instances(priors=priors), gt, ign)
    # positives (IoU 1 and 0.75 with the valid GT) stay positive; the negative is ignored
    assert res.gt_inds.tolist() == [1, -1, 1]
    assert res.labels.tolist() == [3, -1, 3]
    assert torch.equal(res.max_overlaps[[0, 2]], base.max_overlaps[[0, 2]])


def test_proposals_rcnn_setting():
    # R-CNN proposals (arbitrary boxes, not an anchor grid): a loose 40x30 proposal around a
    # 12x12 ignored GT -> ignored; one 20 px off -> negative; one on a valid GT -> positive
    priors = torch.tensor([[0., 0., 40., 30.], [30., 0., 70., 30.], [100., 100., 140., 140.]])
    gt = instances(bboxes=torch.tensor([[100., 100., 140., 141.]]), labels=torch.tensor([7]))
    ign = instances(bboxes=torch.tensor([[14., 9., 26., 21.]]))
    res = ScaleAwareMaxIoUAssigner(**RCNN_CFG, **IOF_ON).assign(instances(priors=priors), gt,
                                                                 ign)
    assert res.gt_inds.tolist() == [-1, 0, 1]
    assert res.labels.tolist() == [-1, -1, 7]


@pytest.mark.parametrize('cfg', CFGS)
def test_rule_off_is_identical_to_current_behaviour(cfg):
    a_default = ScaleAwareMaxIoUAssigner(**cfg)
    assert a_default.invalid_iof_thr is None and a_default.small_prior_max_scale == 64
    a_off = ScaleAwareMaxIoUAssigner(**cfg, invalid_iof_thr=None, small_prior_max_scale=8)
    # with invalid_iou_thr=1 rule 1 cannot fire either: exactly mmdet's MaxIoUAssigner
    a_none = ScaleAwareMaxIoUAssigner(**cfg, invalid_iou_thr=1, invalid_iof_thr=None)
    base = MaxIoUAssigner(**cfg)
    for seed in range(20):
        gen = torch.Generator().manual_seed(500 + seed)
        pred = instances(priors=rand_boxes(gen, 60, max_side=70))
        gt = instances(bboxes=rand_boxes(gen, seed % 4),
                       labels=torch.randint(0, 5, (seed % 4, ), generator=gen))
        ign = instances(bboxes=rand_boxes(gen, 1 + seed % 5, max_side=15))
        assert_same(a_off.assign(pred, gt, ign), a_default.assign(pred, gt, ign))
        assert_same(a_none.assign(pred, gt, ign), base.assign(pred, gt, ign))


@pytest.mark.parametrize('key,bad', [('invalid_iof_thr', -0.1), ('invalid_iof_thr', 1.5),
                                     ('invalid_iof_thr', 'a'), ('invalid_iof_thr', True),
                                     ('invalid_iof_thr', float('nan')),
                                     ('small_prior_max_scale', 0),
                                     ('small_prior_max_scale', -1),
                                     ('small_prior_max_scale', float('nan')),
                                     ('small_prior_max_scale', 'inf'),
                                     ('small_prior_max_scale', None),
                                     ('small_prior_max_scale', True)])
def test_bad_rule2_args_raise(key, bad):
    with pytest.raises(ValueError, match=key):
        ScaleAwareMaxIoUAssigner(**RPN_CFG, **{key: bad})


def test_build_rule2_from_registry_and_edges():
    a = TASK_UTILS.build(dict(type='ScaleAwareMaxIoUAssigner', **RPN_CFG, invalid_iof_thr=0,
                              small_prior_max_scale=float('inf')))
    assert a.invalid_iof_thr == 0.0 and a.small_prior_max_scale == float('inf')
    priors = torch.tensor([[0., 0., 32., 32.], [32., 0., 64., 32.], [31., 0., 63., 32.]])
    ign = instances(bboxes=torch.tensor([[22., 0., 32., 10.]]))
    # threshold 0: any positive-area overlap; touching at an edge (prior 1) is no overlap
    assert a.assign(instances(priors=priors), instances(**NO_GT), ign).gt_inds.tolist() == \
        [-1, 0, -1]
    # threshold 1 can never be exceeded (IoF <= 1)
    a1 = ScaleAwareMaxIoUAssigner(**RPN_CFG, invalid_iof_thr=1)
    assert a1.assign(instances(priors=priors), instances(**NO_GT), ign).gt_inds.tolist() == \
        [0, 0, 0]


@pytest.mark.parametrize('dense_pairs', [0, 2**16])
def test_rule2_chunking_and_gpu_assign_thr_paths_give_same_result(dense_pairs):
    gen = torch.Generator().manual_seed(9)
    priors = torch.cat([rand_boxes(gen, 300), rand_boxes(gen, 300, max_side=40)])
    gt = instances(bboxes=rand_boxes(gen, 4), labels=torch.arange(4))
    ign = instances(bboxes=torch.cat([rand_boxes(gen, 3), rand_boxes(gen, 6, max_side=12)]))
    ref = ScaleAwareMaxIoUAssigner(**RPN_CFG, **IOF_ON).assign(instances(priors=priors), gt, ign)
    _, want = brute_force_rule2(priors, gt, ign, RPN_CFG, 0.5, 64)
    assert torch.equal(ref.gt_inds, want) and (want == -1).any()
    for kw in (dict(chunk_size=1), dict(chunk_size=17), dict(gpu_assign_thr=2)):
        a = ScaleAwareMaxIoUAssigner(**RPN_CFG, **IOF_ON, **kw)
        a.dense_pairs = dense_pairs
        assert_same(a.assign(instances(priors=priors), gt, ign), ref)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), thr=st.sampled_from([0.0, 0.25, 0.5, 0.9, 1.0]),
       max_scale=st.sampled_from([8.0, 32.0, 64.0, float('inf')]),
       bad=st.sampled_from(['none', 'nan', 'negative', 'zero']), size=st.sampled_from([50, 400]),
       grid=st.booleans(), dense_pairs=st.sampled_from([0, 2**16]))
def test_property_contains_invalid_matches_brute_force(seed, thr, max_scale, bad, size, grid,
                                                       dense_pairs):
    # size 400 spreads the boxes (the sparse x1-window path runs), grid makes edges touch
    gen = torch.Generator().manual_seed(seed)
    priors = rand_boxes(gen, 60, size=size, max_side=60)
    ign = torch.cat([rand_boxes(gen, 3, size=size, max_side=12), rand_boxes(gen, 1, size=size)])
    if grid:
        priors, ign = (priors / 4).round() * 4, (ign / 2).round() * 2
    if bad == 'nan':
        priors[::7, 2] = float('nan')
        ign[0, 3] = float('nan')
    elif bad == 'negative':
        priors[::5, 0] = priors[::5, 2] + 3
        ign[1, 1] = ign[1, 3] + 2
    elif bad == 'zero':
        priors[::6, 3] = priors[::6, 1]
        ign[2, 2] = ign[2, 0]
    a = ScaleAwareMaxIoUAssigner(**RPN_CFG, invalid_iof_thr=thr, small_prior_max_scale=max_scale,
                                 chunk_size=11)
    a.dense_pairs = dense_pairs  # 0: the x1-window path whenever it saves half the pairs
    w = (priors[:, 2] - priors[:, 0]).clamp(min=0)
    h = (priors[:, 3] - priors[:, 1]).clamp(min=0)
    small = torch.sqrt(w * h) <= max_scale * (1 + SCALE_RTOL)
    want = small & (bbox_overlaps(ign, priors, mode='iof') > thr).any(0)
    assert torch.equal(a.contains_invalid(priors, ign), want)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), thr=st.sampled_from([0.0, 0.3, 0.5, 0.8]),
       max_scale=st.sampled_from([16.0, 40.0, 64.0, float('inf')]), n_gt=st.integers(0, 3),
       n_ign=st.integers(0, 5), cfg=st.sampled_from(CFGS))
def test_property_rule2_superset_and_no_contained_negative(seed, thr, max_scale, n_gt, n_ign,
                                                           cfg):
    gen = torch.Generator().manual_seed(seed)
    priors = rand_boxes(gen, 80, size=80, max_side=70)
    gt = instances(bboxes=rand_boxes(gen, n_gt, size=80, max_side=50),
                   labels=torch.randint(0, 5, (n_gt, ), generator=gen))
    ign = instances(bboxes=rand_boxes(gen, n_ign, size=80, max_side=16))
    pred = instances(priors=priors)
    off = ScaleAwareMaxIoUAssigner(**cfg, chunk_size=13).assign(pred, gt, ign)
    on = ScaleAwareMaxIoUAssigner(**cfg, invalid_iof_thr=thr, small_prior_max_scale=max_scale,
                                  chunk_size=13).assign(pred, gt, ign)
    # ignored set only grows; nothing else changes (positives stay positive)
    assert ((off.gt_inds == -1) <= (on.gt_inds == -1)).all()
    changed = on.gt_inds != off.gt_inds
    assert (off.gt_inds[changed] == 0).all() and (on.gt_inds[changed] == -1).all()
    # no small prior that contains an ignored GT is trained as background
    if n_ign:
        scale = torch.sqrt((priors[:, 2] - priors[:, 0]) * (priors[:, 3] - priors[:, 1]))
        contains = (bbox_overlaps(ign.bboxes, priors, mode='iof') > thr).any(dim=0)
        assert not (on.gt_inds[contains & (scale <= max_scale)] == 0).any()
    _, want = brute_force_rule2(priors, gt, ign, cfg, thr, max_scale, chunk_size=13)
    assert torch.equal(on.gt_inds, want)


def test_every_nominal_64px_fpn_anchor_counts_as_small():
    # float32 anchor coordinates put nominal 64 px anchors (ratios 0.5, 2) slightly above 64
    from mmdet.models.task_modules.prior_generators import AnchorGenerator
    gen = AnchorGenerator(strides=[4, 8, 16], ratios=[0.5, 1.0, 2.0], scales=[8])
    p3 = gen.grid_priors([(100, 167), (50, 84), (25, 42)], device='cpu')[1]  # 64 px level
    centers = (p3[:, :2] + p3[:, 2:]) / 2
    ign = torch.cat([centers - 3, centers + 3], dim=1)  # a 6x6 ignored GT at every center
    a = ScaleAwareMaxIoUAssigner(**RPN_CFG, **IOF_ON)
    assert a.contains_invalid(p3, ign).all()
    assert not ScaleAwareMaxIoUAssigner(**RPN_CFG, invalid_iof_thr=0.5,
                                        small_prior_max_scale=63.9).contains_invalid(p3, ign).any()


class RecordingCalculator:
    """Wraps an iou_calculator and records the ``is_aligned`` flag of every call."""

    def __init__(self, calc):
        self.calc, self.aligned = calc, []

    def __call__(self, *args, is_aligned=False, **kwargs):
        self.aligned.append(is_aligned)
        return self.calc(*args, is_aligned=is_aligned, **kwargs)


@pytest.mark.parametrize('chunk_size', [1, 7, 2**22])
@pytest.mark.parametrize('layout', ['sparse', 'dense'])
def test_contains_invalid_window_and_dense_paths_match_brute_force(chunk_size, layout):
    gen = torch.Generator().manual_seed(21)
    if layout == 'sparse':  # anchors over a wide image, tiny ignored GT: few pairs in windows
        priors = rand_boxes(gen, 3000, size=1300, max_side=60)
        ign = rand_boxes(gen, 12, size=1300, max_side=14)
    else:  # everything piled up: windows hold (nearly) every pair
        priors = rand_boxes(gen, 300, size=30, max_side=60)
        ign = rand_boxes(gen, 6, size=30, max_side=14)
    priors = torch.cat([priors, ign - 3, ign + torch.tensor([-20., -20., 20., 20.])])
    a = ScaleAwareMaxIoUAssigner(**RPN_CFG, **IOF_ON, chunk_size=chunk_size)
    a.dense_pairs = 0  # small inputs: force the windows to be considered
    a.iou_calculator = RecordingCalculator(a.iou_calculator)
    got = a.contains_invalid(priors, ign)
    small = torch.sqrt((priors[:, 2] - priors[:, 0]) * (priors[:, 3] - priors[:, 1])) <= 64
    want = small & (bbox_overlaps(ign, priors, mode='iof') > 0.5).any(dim=0)
    assert torch.equal(got, want) and want.any() and not want.all()
    assert set(a.iou_calculator.aligned) == {layout == 'sparse'}


def test_window_reaches_back_by_the_widest_prior():
    # the widest small prior (90x45, scale 63.6) starts 82 px left of a 7x7 ignored GT it holds;
    # the other priors lie far away so the x1-window path runs
    far = torch.arange(40, dtype=torch.float32)[:, None] * 40 + torch.tensor([300., 0, 320, 20])
    priors = torch.cat([torch.tensor([[0., 0., 90., 45.]]), far])
    ign = torch.tensor([[82., 10., 89., 17.]])
    a = ScaleAwareMaxIoUAssigner(**RPN_CFG, **IOF_ON)
    a.dense_pairs = 0
    a.iou_calculator = RecordingCalculator(a.iou_calculator)
    got = a.contains_invalid(priors, ign)
    assert got.tolist() == [True] + [False] * 40 and a.iou_calculator.aligned == [True]
    # few pairs: computed all at once, same answer
    b = ScaleAwareMaxIoUAssigner(**RPN_CFG, **IOF_ON)
    b.iou_calculator = RecordingCalculator(b.iou_calculator)
    assert torch.equal(b.contains_invalid(priors, ign), got) and b.iou_calculator.aligned == [False]
    # rule off: contains_invalid finds nothing
    assert not ScaleAwareMaxIoUAssigner(**RPN_CFG).contains_invalid(priors, ign).any()
