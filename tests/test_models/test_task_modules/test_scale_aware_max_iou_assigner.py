"""ScaleAwareMaxIoUAssigner: exact MaxIoUAssigner equivalence without ignored GT, and the SNIP §6.1
rule (IoU > 0.3 with an ignored GT -> ignore) on hand-computed and random cases."""
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
def test_cuda_matches_cpu(gpu_assign_thr):
    gen = torch.Generator().manual_seed(3)
    priors = rand_boxes(gen, 2000)
    gt = instances(bboxes=rand_boxes(gen, 6), labels=torch.arange(6))
    ign = instances(bboxes=rand_boxes(gen, 5))
    a = ScaleAwareMaxIoUAssigner(**RPN_CFG, gpu_assign_thr=gpu_assign_thr, chunk_size=999)
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
