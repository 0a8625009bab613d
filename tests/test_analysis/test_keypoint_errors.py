"""Keypoint errors against a mean-pose prior (mmdet_scalenorm/analysis/keypoint_errors.py and
tools/analysis_tools/keypoint_errors.py): hand-computed matches, poses, errors and OKS, and the
tool end to end on the tiny benchmark with a stand-in model whose keypoints are the GT's shifted
by a known amount."""
import importlib.util
import json
import math
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from mmdet_scalenorm.analysis.keypoint_errors import (match_detections, mean_pose, oks,
                                                      place_pose, summarize_errors)
from tests._tiny_config import REPO


def test_match_is_greedy_by_score_one_detection_per_gt():
    gt = np.array([[0, 0, 10, 10], [20, 0, 30, 10]])
    det = np.array([[0, 0, 10, 10],     # exact on GT 0, low score
                    [0, 0, 10, 9],      # IoU 0.9 with GT 0, high score: wins GT 0
                    [20, 0, 30, 4],     # IoU 0.4 with GT 1: below 0.5
                    [50, 50, 60, 60]])
    assert match_detections(gt, det, np.array([.1, .9, .8, .7])).tolist() == [1, -1]
    # the exact box takes GT 0 once it scores first; the other goes nowhere
    assert match_detections(gt, det, np.array([.95, .9, .8, .7])).tolist() == [0, -1]
    assert match_detections(gt, det[2:3], np.array([1.]), iou_thr=0.4).tolist() == [-1, 0]
    assert match_detections(gt, np.zeros((0, 4)), np.zeros(0)).tolist() == [-1, -1]


def test_mean_pose_over_labelled_keypoints_and_placed_in_boxes():
    boxes = np.array([[0, 0, 10, 20], [10, 10, 30, 30]])
    kps = np.array([[[5, 10, 2], [0, 0, 2]],        # relative (.5, .5), (0, 0)
                    [[10, 10, 1], [99, 99, 0]]])    # relative (0, 0), unlabelled
    pose = mean_pose(boxes, kps)
    assert pose.tolist() == [[0.25, 0.25], [0.0, 0.0]]
    assert place_pose(pose, np.array([[100, 200, 140, 240]])).tolist() == \
        [[[110, 210], [100, 200]]]
    with pytest.raises(ValueError, match=r'keypoints \[1\] are never labelled'):
        mean_pose(boxes[:1], np.array([[[5, 10, 2], [0, 0, 0]]]))


def test_oks_is_cocos():
    sig = np.array([.1, .05])
    gt = np.array([[[0, 0, 2], [10, 0, 2]]])
    pred = np.array([[[3, 4], [10, 0]]])  # d = 5 px and 0 px
    area = np.array([100.])
    e = 25 / (2 * .1) ** 2 / 100 / 2
    assert oks(pred, gt, area, sig)[0] == pytest.approx((math.exp(-e) + 1) / 2)
    gt[0, 1, 2] = 0  # an unlabelled keypoint does not count
    assert oks(pred, gt, area, sig)[0] == pytest.approx(math.exp(-e))


def test_summary_errors_in_units_of_the_gt_size():
    boxes = np.array([[0, 0, 10, 40]])  # sqrt(w*h) = 20
    gt = np.array([[[5, 10, 2], [5, 30, 2], [0, 0, 0]]])
    pred = gt[..., :2] + np.array([2., 0.])      # 2 px right: 0.1 of the size
    prior = gt[..., :2] + np.array([0., -4.])    # 4 px up: 0.2
    s = summarize_errors(boxes, gt, np.array([400.]), pred, prior, [.1, .1, .1])
    assert (s['instances'], s['keypoints']) == (1, 2)
    assert s['model_median_error'] == pytest.approx(0.1)
    assert s['prior_median_error'] == pytest.approx(0.2)
    assert (s['model_mean_dx'], s['model_mean_dy']) == pytest.approx((0.1, 0.0))
    assert (s['prior_mean_dx'], s['prior_mean_dy']) == pytest.approx((0.0, -0.2))
    o = math.exp(-4 / (.2 ** 2) / 400 / 2)  # d^2 = 4, area 400
    assert s['model_median_oks'] == pytest.approx(o)
    assert s['model_oks_ge_0.5'] == (o >= 0.5) and s['model_oks_ge_0.75'] == (o >= 0.75)


def _tool():
    spec = importlib.util.spec_from_file_location(
        'keypoint_errors_tool', osp.join(REPO, 'tools', 'analysis_tools', 'keypoint_errors.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_tool_end_to_end_with_known_errors(synthetic_tiny, tmp_path, monkeypatch, capsys):
    """A stand-in model returns each figure's GT box (score 1) with its GT keypoints moved 1 px
    right, plus a far box of another class: every figure matches, the error is 1 px over each
    figure's sqrt(w*h), the prior is the training set's mean pose in the GT box."""
    import mmdet_scalenorm.apis as apis
    cfg_path = osp.join(REPO, 'configs', 'synthetic',
                        'keypoint-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py')
    val = json.load(open(synthetic_tiny['val_ann']))
    train = json.load(open(synthetic_tiny['train_ann']))
    cats = {c['name']: c['id'] for c in val['categories']}
    classes = [c['name'] for c in sorted(val['categories'], key=lambda c: c['id'])]
    by_file = {im['file_name']: im['id'] for im in val['images']}

    def figures(data, img_id=None):
        return [a for a in data['annotations'] if a['category_id'] == cats['figure'] and
                (img_id is None or a['image_id'] == img_id) and
                (np.reshape(a['keypoints'], (-1, 3))[:, 2] > 0).any()]

    def xyxy(a):
        x, y, w, h = a['bbox']
        return [x, y, x + w, y + h]

    def fake_inference(model, path):
        anns = figures(val, by_file[osp.basename(path)])
        boxes = [xyxy(a) for a in anns] + [[0, 0, 5, 5]]
        kps = [np.reshape(a['keypoints'], (-1, 3)).astype(float) + [1, 0, 0] for a in anns]
        kps.append(np.zeros((13, 3)))
        labels = [classes.index('figure')] * len(anns) + [classes.index('disc')]
        return SimpleNamespace(pred_instances=SimpleNamespace(
            bboxes=torch.tensor(boxes, dtype=torch.float32),
            scores=torch.ones(len(boxes)), labels=torch.tensor(labels),
            keypoints=torch.tensor(np.array(kps), dtype=torch.float32)))

    monkeypatch.setattr(apis, 'init_scalenorm_detector', lambda *a, **k: None)
    monkeypatch.setattr(apis, 'inference_scalenorm', fake_inference)
    ckpt = tmp_path / 'model.pth'
    ckpt.write_bytes(b'')
    s = _tool().main([cfg_path, str(ckpt), '--data-root', synthetic_tiny['data_root']])
    out = capsys.readouterr().out
    gts = figures(val)
    assert f'{len(gts)} of {len(gts)} instances with labelled keypoints matched' in out
    vis = [np.reshape(a['keypoints'], (-1, 3))[:, 2] > 0 for a in gts]
    size = [math.sqrt(a['bbox'][2] * a['bbox'][3]) for a in gts]
    err = np.concatenate([np.full(v.sum(), 1 / z) for v, z in zip(vis, size)])
    assert s['model_median_error'] == pytest.approx(float(np.median(err)), rel=1e-5)
    assert s['model_mean_dx'] == pytest.approx(float(err.mean()), rel=1e-5)
    assert s['model_mean_dy'] == pytest.approx(0, abs=1e-6)
    # the prior: the training figures' mean relative pose, in each GT box
    ref = figures(train)
    rel = [(np.reshape(a['keypoints'], (-1, 3))[:, :2] - a['bbox'][:2]) / a['bbox'][2:]
           for a in ref]
    lab = [np.reshape(a['keypoints'], (-1, 3))[:, 2] > 0 for a in ref]
    pose = np.array([np.mean([r[k] for r, v in zip(rel, lab) if v[k]], axis=0)
                     for k in range(13)])
    perr = np.concatenate([
        (np.linalg.norm(np.asarray(a['bbox'][:2]) + pose * a['bbox'][2:] -
                        np.reshape(a['keypoints'], (-1, 3))[:, :2], axis=1) / z)[v]
        for a, v, z in zip(gts, vis, size)])
    assert s['prior_median_error'] == pytest.approx(float(np.median(perr)), rel=1e-5)
    assert '| the model | ' in out and '| mean pose in the detected box | ' in out
    with pytest.raises(SystemExit, match='checkpoint not found'):
        _tool().main([cfg_path, str(tmp_path / 'none.pth')])
