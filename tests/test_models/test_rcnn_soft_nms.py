"""Soft-NMS after the R-CNN head, per view (ISN §3.3.1 / SNIP §6.1 use soft-NMS, Bodla et al.).

The configs set ``model.test_cfg.rcnn.nms = dict(type='soft_nms', iou_threshold=0.5,
method='gaussian' | 'linear', sigma=0.5, min_score=1e-3)``; mmdet's ``multiclass_nms`` hands it to
``mmcv.ops.batched_nms``, which evaluates the name ``soft_nms`` in ``mmcv.ops.nms``.  mmcv's CPU
rule (mmcv/ops/csrc/pytorch/cpu/nms.cpp, ``softnms_cpu``): after picking the top box M, every other
box b of the class gets ``score *= w`` with

* gaussian: ``w = exp(-iou(M, b)**2 / sigma)`` for every b (``iou_threshold`` is not used),
* linear: ``w = 1 - iou(M, b)`` when ``iou >= iou_threshold``, else 1,

and is dropped only when its decayed score falls below ``min_score``.
"""
import math
import os.path as osp

import pytest
import torch
from mmdet.models.layers import multiclass_nms
from mmdet.structures import DetDataSample

import mmdet_scalenorm  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(REPO, 'configs', '_base_', 'models', 'faster-rcnn_r18-tiny_fpn.py')


def soft_cfg(method):
    return dict(type='soft_nms', iou_threshold=0.5, method=method, sigma=0.5, min_score=1e-3)


def run_nms(boxes, scores_per_class, nms_cfg, score_thr=0.0, max_num=-1):
    """multiclass_nms on (n, 4) boxes shared by all classes; ``scores_per_class`` is (n, C),
    the background column is appended as mmdet's heads do."""
    boxes = torch.tensor(boxes, dtype=torch.float32)
    s = torch.tensor(scores_per_class, dtype=torch.float32)
    s = torch.cat([s, torch.zeros(len(s), 1)], 1)
    dets, labels = multiclass_nms(boxes, s, score_thr, nms_cfg, max_num)
    return dets, labels


A = [0., 0., 10., 10.]
B = [0., 5., 10., 15.]  # iou(A, B) = 50 / 150 = 1/3
C = [0., 2., 10., 12.]  # iou(A, C) = 80 / 120 = 2/3


def test_gaussian_decays_the_lower_score_by_hand():
    dets, labels = run_nms([A, B], [[0.9], [0.8]], soft_cfg('gaussian'))
    assert labels.tolist() == [0, 0]
    assert dets[:, :4].tolist() == [A, B]
    expected = 0.8 * math.exp(-(1 / 3) ** 2 / 0.5)  # 0.6406
    assert dets[0, 4].item() == pytest.approx(0.9)
    assert dets[1, 4].item() == pytest.approx(expected, rel=1e-5)
    # gaussian decays even below iou_threshold (1/3 < 0.5): it ignores the threshold
    assert dets[1, 4].item() < 0.8


def test_linear_decays_only_above_the_threshold_by_hand():
    dets, _ = run_nms([A, C], [[0.9], [0.8]], soft_cfg('linear'))
    assert dets[1, :4].tolist() == C
    assert dets[1, 4].item() == pytest.approx(0.8 * (1 - 2 / 3), rel=1e-5)  # iou 2/3 >= 0.5
    dets, _ = run_nms([A, B], [[0.9], [0.8]], soft_cfg('linear'))
    assert dets[:, 4].tolist() == pytest.approx([0.9, 0.8])  # iou 1/3 < 0.5: untouched
    # hard NMS at the same threshold removes C instead of decaying it
    dets, _ = run_nms([A, C], [[0.9], [0.8]], dict(type='nms', iou_threshold=0.5))
    assert dets[:, :4].tolist() == [A]


def test_decay_is_per_class_and_order_follows_decayed_scores():
    # the same two boxes in class 1 too: each class decays on its own
    dets, labels = run_nms([A, B], [[0.9, 0.7], [0.8, 0.75]], soft_cfg('gaussian'))
    w = math.exp(-(1 / 3) ** 2 / 0.5)
    got = sorted(zip(labels.tolist(), dets[:, 4].tolist()), key=lambda t: -t[1])
    want = sorted([(0, 0.9), (0, 0.8 * w), (1, 0.75), (1, 0.7 * w)], key=lambda t: -t[1])
    assert [g[0] for g in got] == [w_[0] for w_ in want]
    assert [g[1] for g in got] == pytest.approx([w_[1] for w_ in want], rel=1e-5)
    # output sorted by decayed score (what the detector's max_per_img keeps)
    assert dets[:, 4].tolist() == sorted(dets[:, 4].tolist(), reverse=True)
    dets, _ = run_nms([A, B], [[0.9, 0.7], [0.8, 0.75]], soft_cfg('gaussian'), max_num=2)
    assert dets[:, 4].tolist() == pytest.approx([0.9, 0.75])


def test_min_score_removes_a_decayed_box():
    # identical box: gaussian weight exp(-1 / 0.5) = 0.135; 0.005 * 0.135 < 1e-3 -> removed,
    # 0.01 * 0.135 = 1.35e-3 >= 1e-3 -> kept, decayed
    dets, _ = run_nms([A, A], [[0.9], [0.005]], soft_cfg('gaussian'))
    assert len(dets) == 1
    dets, _ = run_nms([A, A], [[0.9], [0.01]], soft_cfg('gaussian'))
    assert dets[1, 4].item() == pytest.approx(0.01 * math.exp(-2), rel=1e-5)


@pytest.mark.parametrize('method', ['gaussian', 'linear'])
def test_tiny_faster_rcnn_predict_uses_soft_nms(monkeypatch, method):
    """A tiny Faster R-CNN from configs/_base_/models/faster-rcnn_r18-tiny_fpn.py with the soft-NMS
    test_cfg runs predict on a random 64x64 image; its scores are mmcv soft_nms's decayed ones."""
    import importlib

    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmdet.registry import MODELS

    cfg = Config.fromfile(TINY)
    cfg.model.test_cfg.rcnn.nms = soft_cfg(method)
    cfg.model.test_cfg.rcnn.score_thr = 0.0  # random weights: keep everything
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()

    # the module (``mmcv.ops.nms`` the attribute is the nms function, not the module)
    mmcv_nms = importlib.import_module('mmcv.ops.nms')
    calls = []
    real = mmcv_nms.soft_nms

    def spy(boxes, scores, **kw):
        dets, inds = real(boxes, scores, **kw)
        calls.append(dict(kw, in_scores=scores.clone(), dets=dets.clone(), inds=inds.clone()))
        return dets, inds

    monkeypatch.setattr(mmcv_nms, 'soft_nms', spy)  # batched_nms evals 'soft_nms' there
    img = torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)
    sample = DetDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64),
                                         scale_factor=(1.0, 1.0), pad_shape=(64, 64)))
    with torch.no_grad():
        out = model.test_step(dict(inputs=[img], data_samples=[sample]))[0].pred_instances

    assert len(calls) == 1
    call = calls[0]
    assert {k: call[k] for k in ('iou_threshold', 'method', 'sigma', 'min_score')} == \
        {k: v for k, v in soft_cfg(method).items() if k != 'type'}
    max_per_img = cfg.model.test_cfg.rcnn.max_per_img
    n = min(max_per_img, len(call['dets']))
    assert 0 < len(out) == n
    assert torch.equal(out.scores, call['dets'][:n, 4])
    assert (out.bboxes[:, 2:] >= out.bboxes[:, :2]).all()
    assert (out.bboxes >= 0).all() and (out.bboxes <= 64).all()
    # decayed, not removed: kept boxes whose score is below their input score
    before = call['in_scores'][call['inds']]
    decayed = call['dets'][:, 4] < before - 1e-7
    assert decayed.any()
    assert (call['dets'][:, 4] <= before + 1e-7).all() and (call['dets'][:, 4] >= 1e-3).all()
