"""CocoKeypointMetric: COCO keypoint (OKS) AP, also within box-scale ranges (ISN §4.3.2)."""
import json

import numpy as np
import pytest
import torch
from pycocotools.coco import COCO as PyCOCO
from pycocotools.cocoeval import COCOeval as PyCOCOeval

import mmdet_scalenorm  # noqa: F401
from mmdet.registry import METRICS
from mmdet_scalenorm.evaluation.metrics import CocoKeypointMetric, ScaleRangeCocoMetric
from mmdet_scalenorm.evaluation.metrics.coco_keypoint_metric import COCO_PERSON_SIGMAS

K = 17
FIGURE_SIGMAS = np.linspace(0.03, 0.09, 13)


def _write(tmp_path, name, obj):
    p = tmp_path / name
    p.write_text(json.dumps(obj))
    return str(p)


def _cats(kp_name='person', k=K):
    return [dict(id=1, name=kp_name, keypoints=[f'kp{i}' for i in range(k)],
                 skeleton=[[1, 2]]),
            dict(id=2, name='thing')]


def _kp_ann(ann_id, img_id, bbox, area, kps, v=None, iscrowd=0):
    """A keypoint-category annotation; ``kps`` (k, 2), ``v`` (k,) default all visible."""
    kps = np.asarray(kps, np.float64)
    v = np.full(len(kps), 2) if v is None else np.asarray(v)
    kps = np.where((v > 0)[:, None], kps, 0.0)
    flat = np.concatenate([kps, v[:, None]], axis=1).reshape(-1).tolist()
    return dict(id=ann_id, image_id=img_id, category_id=1, bbox=list(map(float, bbox)),
                area=float(area), iscrowd=iscrowd, keypoints=flat,
                num_keypoints=int((v > 0).sum()))


def _grid(x, y, w, h, k=K):
    """k keypoints spread inside the xywh box."""
    t = (np.arange(k) + 0.5) / k
    return np.stack([x + w * t, y + h * (1 - t) ** 2], axis=1)


def _sample(img_id, boxes, scores, labels, keypoints, shape=(400, 400)):
    pred = dict(bboxes=torch.as_tensor(np.asarray(boxes, np.float32).reshape(-1, 4)),
                scores=torch.as_tensor(np.asarray(scores, np.float32)),
                labels=torch.as_tensor(np.asarray(labels, np.int64)),
                keypoints=torch.as_tensor(np.asarray(keypoints, np.float32)))
    return dict(img_id=img_id, ori_shape=shape, pred_instances=pred)


def _kp_pred(kps, score=0.9):
    kps = np.asarray(kps, np.float32)
    return np.concatenate([kps, np.full((len(kps), 1), score, np.float32)], axis=1)


def _run(metric, samples, classes=('person', 'thing'), **meta):
    metric.dataset_meta = dict(classes=classes, **meta)
    metric.process({}, samples)
    processed = [r for _, r in metric.results]
    return metric.evaluate(size=len(samples)), processed


# ------------------------------------------------ hand-built case: one image, four people
PEOPLE = [  # xywh box, file 'area' (a mask area: not the box's)
    ([10, 10, 10, 10], 60.0),       # A: box scale 10
    ([50, 50, 40, 40], 1200.0),     # B: box scale 40
    ([150, 150, 100, 100], 9500.0),  # C: box scale 100
    ([20, 300, 20, 20], 100.0),     # D: box scale 20, file area 100 (sqrt 10)
]


def _hand_gt(tmp_path):
    anns = [_kp_ann(i + 1, 1, b, a, _grid(*b)) for i, (b, a) in enumerate(PEOPLE)]
    return _write(tmp_path, 'gt.json', dict(
        images=[dict(id=1, width=400, height=400, file_name='a.png')], annotations=anns,
        categories=_cats()))


def _hand_samples():
    """Exact keypoints for B, C, D; A missed; a top-scoring false positive whose BOX has scale 8
    but whose keypoints spread over 80 x 80 (scale 80)."""
    boxes, scores, kps = [], [], []
    for idx, score in ((1, 0.9), (2, 0.8), (3, 0.85)):
        x, y, w, h = PEOPLE[idx][0]
        boxes.append([x, y, x + w, y + h])
        scores.append(score)
        kps.append(_kp_pred(_grid(x, y, w, h)))
    boxes.append([300, 10, 308, 18])
    scores.append(0.95)
    kps.append(_kp_pred(_grid(300, 10, 80, 80)))
    return [_sample(1, boxes, scores, [0] * 4, kps)]


def test_hand_built_values_and_ranges(tmp_path):
    metric = CocoKeypointMetric(ann_file=_hand_gt(tmp_path),
                                scale_ranges=[(16, 560), (0, 16), (500, 'inf')])
    res, processed = _run(metric, _hand_samples())
    # all GT: FP(.95), B(.9), D(.85), C(.8) -> precision 0, 1/2, 2/3, 3/4 at recall 0..3/4;
    # interpolated 3/4 for the 76 recall thresholds 0, 0.01, ..., 0.75, at every OKS threshold.
    assert res['coco/keypoints_mAP'] == round(76 / 101 * 0.75, 3) == 0.564
    assert res['coco/keypoints_mAP_50'] == res['coco/keypoints_mAP_75'] == 0.564
    # [16, 560]: B, C and D (D by its box, scale 20); the FP is ignored by its box (scale 8),
    # though its keypoints span scale 80.
    assert res['coco/keypoints_mAP_16-560'] == 1.0
    assert res['coco/keypoints_mAR_16-560'] == 1.0
    # [0, 16]: only the missed A; the FP counts (box scale 8), B/C/D match ignored GT.
    assert res['coco/keypoints_mAP_0-16'] == 0.0 and res['coco/keypoints_mAR_0-16'] == 0.0
    assert res['coco/keypoints_mAP_500-inf'] == -1.0  # no GT there: COCO's -1
    assert not any(k.startswith('coco/bbox') for k in res)
    _, ranges = metric.evaluate_keypoints(processed)
    assert [n for _, _, n in ranges] == [3, 1, 0]


def test_perfect_predictions_give_one(tmp_path):
    samples = _hand_samples()
    x, y, w, h = PEOPLE[0][0]
    pred = samples[0]['pred_instances']
    keep = torch.tensor([True, True, True, False])  # drop the FP, add A
    pred['bboxes'] = torch.cat([pred['bboxes'][keep], torch.tensor([[x, y, x + w, y + h]])])
    pred['scores'] = torch.cat([pred['scores'][keep], torch.tensor([0.5])])
    pred['labels'] = torch.zeros(4, dtype=torch.long)
    pred['keypoints'] = torch.cat([pred['keypoints'][keep],
                                   torch.as_tensor(_kp_pred(_grid(x, y, w, h)))[None]])
    metric = CocoKeypointMetric(ann_file=_hand_gt(tmp_path), scale_ranges=[(16, 560), (0, 16)])
    res, _ = _run(metric, samples)
    for key in ('mAP', 'mAP_50', 'mAP_75', 'mAP_16-560', 'mAR_16-560', 'mAP_0-16'):
        assert res[f'coco/keypoints_{key}'] == 1.0, key
    assert res['coco/keypoints_mAP_m'] == 1.0  # B (file area 1200) is COCO 'medium'
    assert res['coco/keypoints_mAP_l'] == 1.0  # C (file area 9500) is COCO 'large'


# ------------------------------------------------ random case vs pycocotools directly
def _random_case(tmp_path, seed, kp_name='person', k=K):
    rng = np.random.default_rng(seed)
    images, anns, samples = [], [], []
    for img_id in (3, 7, 11):
        images.append(dict(id=img_id, width=640, height=480, file_name=f'{img_id}.png'))
        boxes, scores, labels, kps = [], [], [], []
        for _ in range(int(rng.integers(3, 7))):
            s = float(np.exp(rng.uniform(np.log(8), np.log(300))))
            w = s * float(rng.uniform(0.6, 1.6))
            h = s * s / w
            x = float(rng.uniform(0, 640 - min(w, 600)))
            y = float(rng.uniform(0, 480 - min(h, 400)))
            gt_kps = np.stack([x + rng.uniform(0, w, k), y + rng.uniform(0, h, k)], axis=1)
            v = rng.choice([0, 1, 2], k, p=[0.2, 0.2, 0.6])
            if rng.random() < 0.15:
                v[:] = 0  # a person with no labelled keypoint: ignored by pycocotools
            # file area: a mask area, smaller than the box
            anns.append(_kp_ann(len(anns) + 1, img_id, [x, y, w, h],
                                w * h * rng.uniform(0.3, 0.9), gt_kps, v))
            if rng.random() < 0.2:
                continue  # missed
            jit = rng.normal(0, 0.05 * s, 4)
            boxes.append([x + jit[0], y + jit[1], x + w + jit[2], y + h + jit[3]])
            p = gt_kps + rng.normal(0, rng.uniform(0.003, 0.08) * s, (k, 2))
            kps.append(np.concatenate([p, rng.uniform(0, 1, (k, 1))], axis=1))
            scores.append(rng.uniform(0.05, 1))
            labels.append(0)
        for label in (0, 1, 1):  # a false-positive person, two detections of 'thing'
            x, y, s = rng.uniform(0, 500), rng.uniform(0, 350), rng.uniform(8, 120)
            boxes.append([x, y, x + s, y + s])
            kps.append(np.concatenate([rng.uniform([x, y], [x + s, y + s], (k, 2)),
                                       rng.uniform(0, 1, (k, 1))], axis=1))
            scores.append(rng.uniform(0.05, 1))
            labels.append(label)
        anns.append(dict(id=len(anns) + 1, image_id=img_id, category_id=2,
                         bbox=[5.0, 5.0, 30.0, 30.0], area=900.0, iscrowd=0))
        samples.append(_sample(img_id, boxes, scores, labels, kps, shape=(480, 640)))
    crowd = _kp_ann(len(anns) + 1, 7, [300, 200, 200, 150], 20000.0, np.zeros((k, 2)),
                    np.zeros(k), iscrowd=1)
    anns.append(crowd)
    gt = _write(tmp_path, f'gt_{seed}.json', dict(images=images, annotations=anns,
                                                  categories=_cats(kp_name, k)))
    return gt, samples


def _pycocotools_stats(gt_file, res_file, sigmas):
    gt = PyCOCO(gt_file)
    e = PyCOCOeval(gt, gt.loadRes(res_file), 'keypoints')
    e.params.catIds = [1]
    e.params.kpt_oks_sigmas = np.asarray(sigmas, np.float64)
    e.evaluate()
    e.accumulate()
    e.summarize()
    return np.asarray(e.stats)


@pytest.mark.parametrize('seed', [0, 1])
@pytest.mark.parametrize('kp_name,k,meta', [('person', K, {}),
                                            ('figure', 13, dict(sigmas=FIGURE_SIGMAS))])
def test_equals_pycocotools_on_random_perturbation(tmp_path, seed, kp_name, k, meta):
    gt, samples = _random_case(tmp_path, seed, kp_name, k)
    metric = CocoKeypointMetric(ann_file=gt, outfile_prefix=str(tmp_path / 'res'),
                                scale_ranges=[(0, 'inf'), (16, 560)])
    res, processed = _run(metric, samples, classes=(kp_name, 'thing'), **meta)
    res_file = str(tmp_path / 'res.keypoints.json')
    written = json.load(open(res_file))
    n_person = sum(int((s['pred_instances']['labels'] == 0).sum()) for s in samples)
    assert len(written) == n_person  # the 'thing' detections are not keypoint results
    assert {d['category_id'] for d in written} == {1}
    ref = _pycocotools_stats(gt, res_file, meta.get('sigmas', COCO_PERSON_SIGMAS))
    assert 0.05 < ref[0] < 0.95  # a non-trivial case
    stats, ranges = metric.evaluate_keypoints(processed)
    np.testing.assert_allclose(stats, ref, rtol=0, atol=1e-6)
    for name, i in (('mAP', 0), ('mAP_50', 1), ('mAP_75', 2), ('mAP_m', 3), ('mAP_l', 4)):
        assert abs(res[f'coco/keypoints_{name}'] - round(ref[i], 3)) < 1e-6, name
    # [0, inf] is COCO's 'all' range: equal to mAP / AR@20 only if the range evaluation's OKS
    # uses the file's area (its range filter uses the box area, different here).
    assert abs(ranges[0][0] - ref[0]) < 1e-6 and abs(ranges[0][1] - ref[5]) < 1e-6
    n_valid = sum(1 for a in json.load(open(gt))['annotations']
                  if a['category_id'] == 1 and a['num_keypoints'] > 0 and not a['iscrowd'])
    assert ranges[0][2] == n_valid


def test_bbox_and_keypoints_together(tmp_path):
    gt, samples = _random_case(tmp_path, 3)
    metric = CocoKeypointMetric(ann_file=gt, metric=['bbox', 'keypoints'])
    res, _ = _run(metric, samples)
    parent = ScaleRangeCocoMetric(ann_file=gt, metric='bbox')
    ref, _ = _run(parent, [dict(s, pred_instances={k: v for k, v in s['pred_instances'].items()
                                                   if k != 'keypoints'}) for s in samples])
    assert set(ref) == {k for k in res if not k.startswith('coco/keypoints')}
    for key, val in ref.items():
        assert res[key] == val, key
    assert {'coco/keypoints_mAP', 'coco/keypoints_mAP_16-560'} <= set(res)


def test_score_mode_bbox_keypoint(tmp_path):
    gt, _ = _random_case(tmp_path, 0)
    kps = _kp_pred(_grid(10, 10, 50, 50))
    kps[:, 2] = np.linspace(0.01, 0.81, K)  # 0.01, 0.06, ...; above 0.2: 0.21, ..., 0.81
    sample = _sample(3, [[10, 10, 60, 60]], [0.6], [0], [kps])
    for mode, thr, expected in (('bbox', 0.2, 0.6),
                                ('bbox_keypoint', 0.2, 0.6 * 0.51),  # mean of 0.21 .. 0.81
                                ('bbox_keypoint', 0.9, 0.0)):
        metric = CocoKeypointMetric(ann_file=gt, score_mode=mode, keypoint_score_thr=thr,
                                    outfile_prefix=str(tmp_path / mode))
        _run(metric, [sample])
        written = json.load(open(tmp_path / f'{mode}.keypoints.json'))
        assert len(written) == 1
        assert written[0]['score'] == pytest.approx(expected, abs=1e-6)
        np.testing.assert_allclose(np.reshape(written[0]['keypoints'], (K, 3)), kps, atol=1e-6)


def test_no_keypoint_result_gives_zero(tmp_path):
    """Only 'thing' detections: the GT people are all missed, AP 0 (not a missing key)."""
    metric = CocoKeypointMetric(ann_file=_hand_gt(tmp_path))
    res, _ = _run(metric, [_sample(1, [[0, 0, 9, 9]], [0.5], [1], [_kp_pred(_grid(0, 0, 9, 9))])])
    assert res['coco/keypoints_mAP'] == 0.0 and res['coco/keypoints_mAP_16-560'] == 0.0


def test_format_only_writes_keypoint_file(tmp_path):
    metric = CocoKeypointMetric(ann_file=_hand_gt(tmp_path), format_only=True,
                                outfile_prefix=str(tmp_path / 'sub'))
    res, _ = _run(metric, _hand_samples())
    assert res == {}
    assert len(json.load(open(tmp_path / 'sub.keypoints.json'))) == 4


def test_registry_and_coco_person_sigmas(tmp_path):
    m = METRICS.build(dict(type='CocoKeypointMetric', ann_file=_hand_gt(tmp_path),
                           scale_ranges=[(16, 560)]))
    assert isinstance(m, CocoKeypointMetric) and isinstance(m, ScaleRangeCocoMetric)
    m.dataset_meta = dict(classes=('person', 'thing'))
    m.cat_ids = [1, 2]
    np.testing.assert_allclose(m.oks_sigmas(), np.array(
        [.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89,
         .89]) / 10)


def test_synthetic_figures_perfect(synthetic_tiny):
    """GT figures as predictions on the synthetic val split (K=13, sigmas from metainfo)."""
    coco = PyCOCO(synthetic_tiny['val_ann'])
    fig = coco.getCatIds(catNms=['figure'])[0]
    samples = []
    for img_id in coco.getImgIds():
        img = coco.imgs[img_id]
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[img_id]))
        boxes = [[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2],
                  a['bbox'][1] + a['bbox'][3]] for a in anns]
        kps = [np.reshape(a['keypoints'], (13, 3)) if a['category_id'] == fig
               else np.zeros((13, 3)) for a in anns]
        samples.append(_sample(img_id, np.reshape(boxes, (-1, 4)), [0.9] * len(anns),
                               [a['category_id'] - 1 for a in anns], np.reshape(kps, (-1, 13, 3)),
                               shape=(img['height'], img['width'])))
    assert any(a['num_keypoints'] > 0 for a in coco.loadAnns(coco.getAnnIds(catIds=[fig])))
    metric = CocoKeypointMetric(ann_file=synthetic_tiny['val_ann'], metric=['bbox', 'keypoints'])
    res, _ = _run(metric, samples, classes=synthetic_tiny['classes'], sigmas=FIGURE_SIGMAS)
    assert res['coco/keypoints_mAP'] == 1.0 and res['coco/bbox_mAP'] == 1.0


# ------------------------------------------------ errors name the key / image id
def test_error_wrong_k_names_image(tmp_path):
    metric = CocoKeypointMetric(ann_file=_hand_gt(tmp_path))
    with pytest.raises(ValueError, match=r'image 1: pred_instances.keypoints has K=13.*K=17'):
        _run(metric, [_sample(1, [[0, 0, 9, 9]], [0.5], [0], np.zeros((1, 13, 3)))])


@pytest.mark.parametrize('kps,shape', [(np.zeros((1, 17, 2)), r'\(1, 17, 2\)'),
                                       (np.zeros((2, 17, 3)), r'\(2, 17, 3\)'),
                                       (np.zeros((1, 51)), r'\(1, 51\)')])
def test_error_wrong_prediction_shape_names_image(tmp_path, kps, shape):
    metric = CocoKeypointMetric(ann_file=_hand_gt(tmp_path))
    metric.dataset_meta = dict(classes=('person', 'thing'))
    with pytest.raises(ValueError, match=r'image 5: pred_instances.keypoints must have shape '
                                         r'\(N, K, 3\) with N = 1 boxes; got ' + shape):
        metric.process({}, [_sample(5, [[0, 0, 9, 9]], [0.5], [0], kps)])


def test_error_missing_or_bad_predictions(tmp_path):
    metric = CocoKeypointMetric(ann_file=_hand_gt(tmp_path))
    sample = _sample(4, [[0, 0, 9, 9]], [0.5], [0], np.zeros((1, 17, 3)))
    del sample['pred_instances']['keypoints']
    with pytest.raises(ValueError, match="image 4: pred_instances has no 'keypoints'"):
        metric.process({}, [sample])
    bad = np.zeros((1, 17, 3))
    bad[0, 3, 0] = np.nan
    with pytest.raises(ValueError, match='image 4: .*non-finite'):
        metric.process({}, [_sample(4, [[0, 0, 9, 9]], [0.5], [0], bad)])
    # box metrics alone need no keypoints
    box_only = CocoKeypointMetric(ann_file=_hand_gt(tmp_path), metric='bbox')
    box_only.process({}, [sample])
    assert 'keypoints' not in box_only.results[0][1]


def test_error_missing_sigmas_for_non_person(tmp_path):
    gt, samples = _random_case(tmp_path, 0, 'figure', 13)
    metric = CocoKeypointMetric(ann_file=gt)
    with pytest.raises(ValueError, match=r"no 'sigmas'.*\['figure'\] \(K=13\).*13 OKS sigmas"):
        _run(metric, samples, classes=('figure', 'thing'))
    metric = CocoKeypointMetric(ann_file=gt)
    with pytest.raises(ValueError, match=r"dataset_meta\['sigmas'\] must hold K=13 values"):
        _run(metric, samples, classes=('figure', 'thing'), sigmas=COCO_PERSON_SIGMAS)
    metric = CocoKeypointMetric(ann_file=gt)
    with pytest.raises(ValueError, match=r"sigmas'\] must be finite and > 0"):
        _run(metric, samples, classes=('figure', 'thing'), sigmas=-FIGURE_SIGMAS)
    # a 17-keypoint category not called 'person' is not COCO person either
    gt17, samples17 = _random_case(tmp_path, 0, 'body', K)
    with pytest.raises(ValueError, match=r"no 'sigmas'.*\['body'\] \(K=17\)"):
        _run(CocoKeypointMetric(ann_file=gt17), samples17, classes=('body', 'thing'))


def test_error_bad_arguments_and_annotations(tmp_path):
    with pytest.raises(ValueError, match='needs ann_file'):
        CocoKeypointMetric(ann_file=None)
    with pytest.raises(ValueError, match='score_mode must be one of'):
        CocoKeypointMetric(ann_file=_hand_gt(tmp_path), score_mode='keypoint')
    with pytest.raises(ValueError, match='keypoint_score_thr'):
        CocoKeypointMetric(ann_file=_hand_gt(tmp_path), keypoint_score_thr='0.2')
    with pytest.raises(KeyError, match='metric should be one of'):  # CocoMetric's check
        CocoKeypointMetric(ann_file=_hand_gt(tmp_path), metric=['keypoints', 'pose'])
    no_kp = _write(tmp_path, 'nokp.json', dict(images=[dict(id=1, width=9, height=9)],
                                               annotations=[], categories=[dict(id=1, name='a')]))
    with pytest.raises(ValueError, match="nokp.json.*no category with 'keypoints'"):
        CocoKeypointMetric(ann_file=no_kp)
    CocoKeypointMetric(ann_file=no_kp, metric='bbox')  # fine without keypoints
    data = json.load(open(_hand_gt(tmp_path)))
    data['annotations'][2]['keypoints'] = data['annotations'][2]['keypoints'][:-3]
    with pytest.raises(ValueError,
                       match=r'annotation 3 \(image 1, category 1\).*3\*K = 51.*got 48'):
        CocoKeypointMetric(ann_file=_write(tmp_path, 'short.json', data))
    data = json.load(open(_hand_gt(tmp_path)))
    del data['annotations'][1]['num_keypoints']
    with pytest.raises(ValueError, match="annotation 2 .*no 'num_keypoints'"):
        CocoKeypointMetric(ann_file=_write(tmp_path, 'nonum.json', data))
    data = json.load(open(_hand_gt(tmp_path)))
    data['annotations'][0]['keypoints'][2] = 3
    with pytest.raises(ValueError, match=r'annotation 1 .*v must be 0, 1 or 2; got \[3\]'):
        CocoKeypointMetric(ann_file=_write(tmp_path, 'badv.json', data))
    metric = CocoKeypointMetric(ann_file=_hand_gt(tmp_path))
    with pytest.raises(ValueError, match=r"no class of dataset_meta\['classes'\] \('thing',\)"):
        _run(metric, _hand_samples(), classes=('thing', ))
