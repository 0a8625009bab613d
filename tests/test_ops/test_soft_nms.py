"""Parity of ``batched_soft_nms`` with mmcv's per-class ``soft_nms`` (SNIP §6.1 merge step).

Every parity check runs both backends: ``'mmcv'`` (the CPU default, mmcv's kernel per class) and
``'torch'`` (the vectorised path CUDA tensors use, run here on the CPU so it stays covered)."""
import math

import pytest
import torch
from hypothesis import given, settings, strategies as st
from mmcv.ops import soft_nms

from mmdet_scalenorm.ops import batched_soft_nms


def per_class_mmcv(boxes, scores, labels, **kw):
    """Reference: mmcv.ops.soft_nms on each class separately -> {input index: score}."""
    out = {}
    for c in torch.unique(labels):
        m = (labels == c).nonzero()[:, 0]
        dets, keep = soft_nms(boxes[m].cpu(), scores[m].cpu(), **kw)
        out.update(zip(m.cpu()[keep].tolist(), dets[:, 4].tolist()))
    return out


def random_dets(seed, n=None, num_classes=5, tied=False):
    g = torch.Generator().manual_seed(seed)
    n = int(torch.randint(1, 150, (1,), generator=g)) if n is None else n
    xy = torch.rand(n, 2, generator=g) * 100
    wh = torch.rand(n, 2, generator=g) * 60 + 1
    boxes = torch.cat([xy, xy + wh], 1)
    if tied:  # few distinct scores: many exact ties, before and after decay
        scores = torch.randint(1, 5, (n,), generator=g).float() / 4
    else:
        scores = torch.rand(n, generator=g)
    labels = torch.randint(0, num_classes, (n,), generator=g)
    return boxes, scores, labels


BACKENDS = ('mmcv', 'torch')


def assert_same_one(ref, boxes, scores, labels, backend, **kw):
    inputs = [x.clone() for x in (boxes, scores, labels)]
    dets, keep = batched_soft_nms(boxes, scores, labels, backend=backend, **kw)
    # the kernel works in place on its buffers: the caller's tensors stay untouched
    for x, y in zip(inputs, (boxes, scores, labels)):
        assert torch.equal(x, y)
    got = dict(zip(keep.tolist(), dets[:, 4].tolist()))
    assert set(got) == set(ref)
    for k, s in ref.items():
        assert abs(got[k] - s) <= 1e-4
    # dets: the input boxes of the kept indices, scores sorted descending
    assert torch.equal(dets[:, :4], boxes[keep])
    assert bool((dets[1:, 4] <= dets[:-1, 4]).all())
    assert keep.unique().numel() == keep.numel()
    assert keep.dtype == torch.long
    return dets, keep


def assert_same(boxes, scores, labels, **kw):
    """Both backends match per-class mmcv and each other; returns the default (CPU) result."""
    ref = per_class_mmcv(boxes, scores, labels, **kw)
    (dm, km), (dt, kt) = [assert_same_one(ref, boxes, scores, labels, b, **kw) for b in BACKENDS]
    # same output order: identical wherever the scores are not within float rounding of a tie
    assert torch.allclose(dm[:, 4], dt[:, 4], atol=1e-6, rtol=0)
    dm_auto, km_auto = batched_soft_nms(boxes, scores, labels, **kw)
    assert torch.equal(km_auto, km) and torch.equal(dm_auto, dm)
    if kw.get('method', 'linear') != 'gaussian':  # same float ops: bit-identical scores
        assert torch.equal(km, kt) and torch.equal(dm, dt)
    return dm, km


@pytest.mark.parametrize('method', ['linear', 'gaussian', 'naive'])
@pytest.mark.parametrize('seed', range(12))
def test_parity_random(method, seed):
    boxes, scores, labels = random_dets(seed)
    assert_same(boxes, scores, labels, iou_threshold=0.3 + 0.02 * seed, sigma=0.2 + 0.05 * seed,
                min_score=1e-3, method=method)


@pytest.mark.parametrize('method', ['linear', 'gaussian', 'naive'])
@pytest.mark.parametrize('seed', range(8))
def test_parity_ties_and_removals(method, seed):
    # a high min_score removes many boxes mid-run, which reorders mmcv's array; exact ties
    # then depend on that order
    boxes, scores, labels = random_dets(1000 + seed, n=120, num_classes=3, tied=True)
    assert_same(boxes, scores, labels, iou_threshold=0.2, sigma=0.5, min_score=0.3,
                method=method)


def test_tie_order_follows_mmcv_array_order():
    # Identical scores, class 0: A overlaps B strongly; C, D far away.  mmcv picks the first
    # maximum in its internal array order, which is permuted by swaps and removals.
    boxes = torch.tensor([[0, 0, 10, 10], [0, 0, 10, 9], [50, 50, 60, 60], [50, 50, 60, 59],
                          [100, 100, 110, 110]], dtype=torch.float32)
    scores = torch.full((5,), 0.5)
    labels = torch.zeros(5, dtype=torch.long)
    for method in ('linear', 'naive', 'gaussian'):
        dets, keep = assert_same(boxes, scores, labels, iou_threshold=0.5, min_score=0.3,
                                 method=method)
    # hand-checked for 'naive': 0 kills 1, 2 kills 3 -> kept {0, 2, 4}
    dets, keep = batched_soft_nms(boxes, scores, labels, iou_threshold=0.5, method='naive')
    assert sorted(keep.tolist()) == [0, 2, 4]


def test_hand_computed_linear_and_gaussian():
    boxes = torch.tensor([[0, 0, 10, 10], [0, 0, 10, 5], [20, 20, 30, 30]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.7])
    labels = torch.tensor([0, 0, 1])
    # IoU(box0, box1) = 50 / 100 = 0.5
    dets, keep = batched_soft_nms(boxes, scores, labels, iou_threshold=0.3, method='linear')
    assert keep.tolist() == [0, 2, 1]
    assert dets[:, 4].tolist() == pytest.approx([0.9, 0.7, 0.8 * 0.5])
    dets, keep = batched_soft_nms(boxes, scores, labels, sigma=0.5, method='gaussian')
    assert keep.tolist() == [0, 2, 1]  # 0.8 * exp(-0.5) = 0.485 < 0.7
    assert dets[:, 4].tolist() == pytest.approx([0.9, 0.7, 0.8 * math.exp(-0.25 / 0.5)])
    # same boxes in different classes never interact
    dets, keep = batched_soft_nms(boxes, scores, torch.tensor([0, 1, 2]), method='linear')
    assert dets[:, 4].tolist() == pytest.approx([0.9, 0.8, 0.7])


def test_first_pick_kept_below_min_score_like_mmcv():
    boxes = torch.tensor([[0, 0, 10, 10], [50, 50, 60, 60]], dtype=torch.float32)
    scores = torch.tensor([1e-4, 5e-5])
    labels = torch.tensor([0, 0])
    dets, keep = assert_same(boxes, scores, labels, min_score=1e-3)
    assert keep.tolist() == [0]
    dets, keep = assert_same(boxes, scores, torch.tensor([0, 1]), min_score=1e-3)
    assert keep.tolist() == [0, 1]


def test_single_class_many_seeds_and_max_num():
    for seed in range(10):
        boxes, scores, labels = random_dets(200 + seed, n=200, num_classes=1)
        dets, keep = assert_same(boxes, scores, labels, method='gaussian')
        for backend in BACKENDS:
            d5, k5 = batched_soft_nms(boxes, scores, labels, method='gaussian', max_num=5,
                                      backend=backend)
            assert torch.equal(k5, keep[:5]) and torch.allclose(d5, dets[:5], atol=1e-6)


@pytest.mark.parametrize('method', ['linear', 'gaussian'])
def test_parity_many_classes_like_the_tta_merge(method):
    # 80 classes, some with a single box (no kernel call) and labels not starting at 0
    boxes, scores, labels = random_dets(42, n=1500, num_classes=80)
    labels = labels + 3
    assert_same(boxes, scores, labels, method=method)


def test_equal_scores_ordered_by_step_then_label():
    # four far-apart boxes, all score 0.5: nothing decays.  Class 0 = inputs 1, 3 and class 1 =
    # inputs 0, 2; each class picks in input order, the output lists step 0 of every class (in
    # label order), then step 1.
    boxes = torch.tensor([[0, 0, 10, 10], [100, 0, 110, 10], [200, 0, 210, 10],
                          [300, 0, 310, 10]], dtype=torch.float32)
    scores = torch.full((4,), 0.5)
    labels = torch.tensor([1, 0, 1, 0])
    for backend in BACKENDS:
        dets, keep = batched_soft_nms(boxes, scores, labels, backend=backend)
        assert keep.tolist() == [1, 0, 3, 2]
        assert dets[:, 4].tolist() == [0.5] * 4


@pytest.mark.parametrize('method', ['linear', 'gaussian', 'naive'])
def test_degenerate_boxes_have_iou_zero(method):
    # two zero-area boxes (mmcv: 0/0 IoU, NaN Gaussian scores), an inverted box, and a proper
    # box overlapping a zero-area one: every IoU with a degenerate box is 0, so nothing decays
    boxes = torch.tensor([[5, 5, 5, 5], [5, 5, 5, 5], [10, 10, 0, 0], [0, 0, 10, 10],
                          [3, 0, 3, 10]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.5])
    labels = torch.zeros(5, dtype=torch.long)
    for backend in BACKENDS:
        dets, keep = batched_soft_nms(boxes, scores, labels, method=method, iou_threshold=0.3,
                                      backend=backend)
        assert keep.tolist() == [0, 1, 2, 3, 4]
        assert torch.equal(dets[:, 4], scores)
        assert torch.equal(dets[:, :4], boxes)  # the caller's boxes, not the kernel's stand-in
    # a proper pair next to the degenerate ones still decays: IoU([0,0,10,10], [0,0,10,5]) = 0.5
    boxes2 = torch.cat([boxes, torch.tensor([[0, 0, 10, 5.]])])
    scores2 = torch.cat([scores, torch.tensor([0.55])])
    for backend in BACKENDS:
        dets, keep = batched_soft_nms(boxes2, scores2, torch.zeros(6, dtype=torch.long),
                                      method='linear', iou_threshold=0.3, backend=backend)
        got = dict(zip(keep.tolist(), dets[:, 4].tolist()))
        assert got[5] == pytest.approx(0.55 * 0.5)
        assert all(got[i] == pytest.approx(float(scores[i])) for i in range(5))


def test_empty_and_all_invalid():
    e4, e = torch.zeros((0, 4)), torch.zeros(0)
    dets, keep = batched_soft_nms(e4, e, e.long())
    assert dets.shape == (0, 5) and dets.dtype == torch.float32
    assert keep.shape == (0,) and keep.dtype == torch.long
    boxes = torch.tensor([[0, 0, 10, 10], [0, 0, 5, 5.]])
    with pytest.warns(UserWarning, match='NaN/inf'):
        dets, keep = batched_soft_nms(boxes, torch.tensor([math.nan, math.inf]),
                                      torch.tensor([0, 0]))
    assert dets.shape == (0, 5) and keep.numel() == 0


def test_nan_and_inf_dropped_with_warning_indices_into_input():
    boxes, scores, labels = random_dets(7, n=60)
    boxes[3, 2] = math.nan
    scores[10] = math.inf
    boxes[20, 0] = -math.inf
    ok = torch.ones(60, dtype=torch.bool)
    ok[[3, 10, 20]] = False
    with pytest.warns(UserWarning, match='dropping 3 of 60'):
        dets, keep = batched_soft_nms(boxes, scores, labels)
    assert not set(keep.tolist()) & {3, 10, 20}
    sub = ok.nonzero()[:, 0]
    ref = per_class_mmcv(boxes[sub], scores[sub], labels[sub])
    assert set(keep.tolist()) == {int(sub[k]) for k in ref}
    assert torch.isfinite(dets).all()


@pytest.mark.parametrize('kw, key', [
    (dict(sigma=0), 'sigma'), (dict(sigma=-1.), 'sigma'), (dict(method='hard'), 'method'),
    (dict(iou_threshold=1.5), 'iou_threshold'), (dict(iou_threshold=-0.1), 'iou_threshold'),
    (dict(min_score=math.nan), 'min_score'), (dict(max_num=2.5), 'max_num'),
    (dict(backend='cuda'), 'backend')])
def test_bad_arguments(kw, key):
    boxes, scores, labels = random_dets(0, n=5)
    with pytest.raises(ValueError, match=key):
        batched_soft_nms(boxes, scores, labels, **kw)


@pytest.mark.parametrize('backend', BACKENDS)
def test_dtypes_half_and_double(backend):
    boxes, scores, labels = random_dets(3, n=80)
    d32, k32 = batched_soft_nms(boxes, scores, labels, method='gaussian', backend=backend)
    d64, k64 = batched_soft_nms(boxes.double(), scores.double(), labels, method='gaussian',
                                backend=backend)
    assert d64.dtype == torch.float64 and set(k64.tolist()) == set(k32.tolist())
    assert torch.equal(d64[:, :4], boxes.double()[k64])
    dh, kh = batched_soft_nms(boxes.half(), scores.half(), labels.int(), method='gaussian',
                              backend=backend)
    assert dh.dtype == torch.float16 and kh.dtype == torch.long
    ref = per_class_mmcv(boxes.half().float(), scores.half().float(), labels, method='gaussian')
    assert set(kh.tolist()) == set(ref)


def test_noncontiguous_inputs():
    boxes, scores, labels = random_dets(5, n=90)
    strided = torch.stack([boxes, boxes], 2)[..., 0]  # same values, strides (8, 2)
    column_major = boxes.t().contiguous().t()
    scores_strided = torch.stack([scores, scores], 1)[:, 0]
    for b in (strided, column_major):
        assert not b.is_contiguous() and torch.equal(b, boxes)
        assert_same(b, scores_strided, labels, method='gaussian')


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 60), classes=st.integers(1, 6),
       method=st.sampled_from(['linear', 'gaussian', 'naive']),
       thr=st.floats(0, 1), min_score=st.sampled_from([0.0, 1e-3, 0.1, 0.5]))
def test_parity_property(seed, n, classes, method, thr, min_score):
    boxes, scores, labels = random_dets(seed, n=n, num_classes=classes, tied=seed % 2 == 0)
    assert_same(boxes, scores, labels, iou_threshold=thr, min_score=min_score, method=method)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='CUDA not available')
@pytest.mark.parametrize('backend', ['auto', 'torch', 'mmcv'])
def test_cuda_matches_cpu(backend):
    for seed in range(5):
        boxes, scores, labels = random_dets(seed, n=300, num_classes=10)
        d_cpu, k_cpu = batched_soft_nms(boxes, scores, labels, method='gaussian')
        d_gpu, k_gpu = batched_soft_nms(boxes.cuda(), scores.cuda(), labels.cuda(),
                                        method='gaussian', backend=backend)
        assert d_gpu.is_cuda and k_gpu.is_cuda
        assert set(k_gpu.cpu().tolist()) == set(k_cpu.tolist())
        assert torch.allclose(d_gpu.cpu(), d_cpu, atol=1e-4)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 60), classes=st.integers(1, 4),
       method=st.sampled_from(['linear', 'gaussian', 'naive']),
       thr=st.sampled_from([0.0, 0.3, 0.7]), min_score=st.sampled_from([0.0, 1e-3, 0.3]))
def test_backends_agree_with_degenerate_boxes(seed, n, classes, method, thr, min_score):
    # zero-width, zero-height and inverted boxes mixed in (mmcv itself gives NaN here): both
    # backends apply the IoU-0 rule and agree with each other
    boxes, scores, labels = random_dets(seed, n=n, num_classes=classes, tied=seed % 2 == 0)
    g = torch.Generator().manual_seed(seed)
    kind = torch.randint(0, 4, (n,), generator=g)
    boxes[kind == 1, 2] = boxes[kind == 1, 0]
    boxes[kind == 2, 3] = boxes[kind == 2, 1]
    boxes[kind == 3] = boxes[kind == 3][:, [2, 3, 0, 1]]
    kw = dict(iou_threshold=thr, min_score=min_score, method=method)
    dm, km = batched_soft_nms(boxes, scores, labels, backend='mmcv', **kw)
    dt, kt = batched_soft_nms(boxes, scores, labels, backend='torch', **kw)
    assert torch.isfinite(dm).all()
    assert set(km.tolist()) == set(kt.tolist())
    assert torch.allclose(dm[:, 4], dt[:, 4], atol=1e-6, rtol=0)
    if method != 'gaussian':
        assert torch.equal(km, kt) and torch.equal(dm, dt)
    # degenerate boxes are never decayed: each keeps its own score (except under mmcv's 'naive'
    # rule at threshold 0, which zeroes every later box, IoU 0 included: checked below)
    got = dict(zip(km.tolist(), dm[:, 4].tolist()))
    if method == 'naive' and thr == 0.0:
        ref, _ = soft_nms(torch.tensor([[0., 0, 10, 10], [20, 20, 30, 30]]),
                          torch.tensor([0.9, 0.8]), iou_threshold=0.0, min_score=0.0,
                          method='naive')
        assert ref[1, 4] == 0  # mmcv's rule, which both backends follow
        return
    for i in (kind > 0).nonzero()[:, 0].tolist():
        if i in got:
            assert got[i] == float(scores[i])
