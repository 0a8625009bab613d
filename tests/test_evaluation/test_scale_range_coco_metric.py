"""ScaleRangeCocoMetric: AP/AR within box-scale ranges (ISN §4.3, Table 7)."""
import copy
import json
import math

import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO as PyCOCO
from pycocotools.cocoeval import COCOeval as PyCOCOeval

import mmdet_scalenorm  # noqa: F401
from mmdet.registry import METRICS
from mmdet_scalenorm.evaluation.metrics import ScaleRangeCocoMetric
from mmdet_scalenorm.evaluation.metrics.scale_range_coco_metric import range_key


def _write(tmp_path, name, obj):
    p = tmp_path / name
    p.write_text(json.dumps(obj))
    return str(p)


# hand-built case: one 200x200 image, one class
GT_BOXES = [  # xywh, 'area' field (as a mask area would be)
    ([10, 10, 10, 10], 100.0),    # scale 10
    ([50, 50, 40, 40], 1600.0),   # scale 40
    ([90, 90, 100, 100], 1e4),    # scale 100
    ([20, 120, 20, 20], 64.0),    # box scale 20, but a thin mask: area 64 (sqrt 8)
]
DETS = [  # xyxy, score
    ([50, 50, 90, 90], 0.9),      # TP for scale 40
    ([90, 90, 190, 190], 0.8),    # TP for scale 100
    ([20, 120, 40, 140], 0.7),    # TP for box-scale 20
    ([150, 10, 158, 18], 0.95),   # FP, scale 8
    ([150, 150, 180, 180], 0.99),  # FP, scale 30
]


def _hand_gt(tmp_path):
    anns = [dict(id=i + 1, image_id=1, category_id=1, bbox=b, area=a, iscrowd=0)
            for i, (b, a) in enumerate(GT_BOXES)]
    return _write(tmp_path, 'gt.json', dict(
        images=[dict(id=1, width=200, height=200, file_name='a.png')], annotations=anns,
        categories=[dict(id=1, name='thing')]))


def _sample(img_id, shape, boxes, scores, labels, masks=None):
    pred = dict(bboxes=torch.as_tensor(np.asarray(boxes, np.float32).reshape(-1, 4)),
                scores=torch.as_tensor(np.asarray(scores, np.float32)),
                labels=torch.as_tensor(np.asarray(labels, np.int64)))
    if masks is not None:
        pred['masks'] = torch.as_tensor(np.asarray(masks, bool))
    return dict(img_id=img_id, ori_shape=shape, pred_instances=pred)


def _run(metric, classes, samples):
    metric.dataset_meta = dict(classes=classes)
    metric.process({}, samples)
    return metric.evaluate(size=len(samples))


def test_known_values_on_hand_built_case(tmp_path):
    metric = ScaleRangeCocoMetric(ann_file=_hand_gt(tmp_path),
                                  scale_ranges=[(16, 560), (0, 16), (0, 'inf'), (500, None)])
    res = _run(metric, ('thing', ), [_sample(1, (200, 200), [d[0] for d in DETS],
                                             [d[1] for d in DETS], [0] * len(DETS))])
    # [16, 560]: GT of box scale 40, 100, 20 (the thin one counts by its box); the scale-8 FP is
    # outside the range and ignored, the scale-30 FP is first in score order:
    # precisions 0, 1/2, 2/3, 3/4 at recalls 0, 1/3, 2/3, 1 -> interpolated 0.75 everywhere.
    assert res['coco/bbox_mAP_16-560'] == 0.75
    assert res['coco/bbox_mAR_16-560'] == 1.0
    # [0, 16]: only the undetected scale-10 GT
    assert res['coco/bbox_mAP_0-16'] == 0.0
    assert res['coco/bbox_mAR_0-16'] == 0.0
    # [0, inf] is COCO's 'all': equals the usual mAP
    assert res['coco/bbox_mAP_0-inf'] == res['coco/bbox_mAP']
    assert res['coco/bbox_mAR_0-inf'] == 0.75
    # no GT in [500, inf]: COCO's -1
    assert res['coco/bbox_mAP_500-inf'] == -1.0 and res['coco/bbox_mAR_500-inf'] == -1.0
    # the usual keys are kept
    for k in ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l'):
        assert f'coco/bbox_{k}' in res


def _hand_cocoeval(gt_path, dets, iou_type, rng):
    """pycocotools run by hand on the GT copy whose area = bbox w*h, the documented rule."""
    with open(gt_path) as f:
        gt = json.load(f)
    for a in gt['annotations']:
        a['area'] = a['bbox'][2] * a['bbox'][3]
    coco = PyCOCO()
    coco.dataset = gt
    coco.createIndex()
    dets = copy.deepcopy(dets)
    if iou_type == 'segm':
        for d in dets:
            d.pop('bbox')
    coco_dt = coco.loadRes(dets)
    for a in coco_dt.dataset['annotations']:
        a['area'] = a['bbox'][2] * a['bbox'][3]
    ev = PyCOCOeval(coco, coco_dt, iou_type)
    ev.params.maxDets = [100, 300, 1000]
    lo, hi = rng
    ev.params.areaRng = [[lo ** 2, 1e10 if math.isinf(hi) else hi ** 2]]
    ev.params.areaRngLbl = ['all']
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return ev.stats[0], ev.stats[8]  # AP and AR at maxDets[2] with areaRng 'all'


def _random_case(tmp_path, seed, with_masks):
    rng = np.random.default_rng(seed)
    images, anns, samples, dets = [], [], [], []
    for img_id in range(1, 6):
        h, w = 120, 160
        images.append(dict(id=img_id, width=w, height=h, file_name=f'{img_id}.png'))
        boxes, scores, labels, masks = [], [], [], []
        for _ in range(int(rng.integers(1, 8))):
            s = float(np.exp(rng.uniform(np.log(4), np.log(100))))
            bw = min(w - 1, max(2, int(s * rng.uniform(0.7, 1.4))))
            bh = min(h - 1, max(2, int(s * s / bw)))
            x, y = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
            m = np.zeros((h, w), np.uint8, order='F')
            m[y:y + bh, x:x + bw] = 1
            m[y:y + bh // 2, x:x + bw // 2] = 0 if bw > 3 and bh > 3 else 1  # area != w*h
            rle = mask_utils.encode(m)
            area = float(mask_utils.area(rle))
            rle['counts'] = rle['counts'].decode()
            cat = int(rng.integers(1, 3))
            anns.append(dict(id=len(anns) + 1, image_id=img_id, category_id=cat,
                             bbox=[x, y, bw, bh], area=area, segmentation=rle, iscrowd=0))
            if rng.random() < 0.8:  # detected, jittered
                j = rng.normal(0, max(1.0, 0.1 * s), size=4)
                b = np.clip([x + j[0], y + j[1], x + bw + j[2], y + bh + j[3]], 0, [w, h, w, h])
                boxes.append(b)
                scores.append(float(rng.random()))
                labels.append(cat - 1 if rng.random() < 0.9 else 2 - cat)
                dm = np.zeros((h, w), bool)
                bi = np.round(b).astype(int)
                dm[bi[1]:max(bi[3], bi[1] + 1), bi[0]:max(bi[2], bi[0] + 1)] = True
                masks.append(dm)
        for _ in range(int(rng.integers(0, 4))):  # false positives
            s = float(np.exp(rng.uniform(np.log(4), np.log(80))))
            x, y = rng.uniform(0, w - s), rng.uniform(0, h - s)
            boxes.append([x, y, x + s, y + s])
            scores.append(float(rng.random()))
            labels.append(int(rng.integers(0, 2)))
            dm = np.zeros((h, w), bool)
            dm[int(y):int(y + s) + 1, int(x):int(x + s) + 1] = True
            masks.append(dm)
        samples.append(_sample(img_id, (h, w), boxes, scores, labels,
                               masks if with_masks else None))
        for b, sc, lb, dm in zip(boxes, scores, labels, masks):
            d = dict(image_id=img_id, category_id=int(lb) + 1, score=float(np.float32(sc)),
                     bbox=[float(v) for v in np.float32(
                         [b[0], b[1], b[2] - b[0], b[3] - b[1]])])
            if with_masks:
                r = mask_utils.encode(np.asfortranarray(dm.astype(np.uint8)))
                r['counts'] = r['counts'].decode()
                d['segmentation'] = r
            dets.append(d)
    gt = _write(tmp_path, f'gt{seed}.json', dict(
        images=images, annotations=anns,
        categories=[dict(id=1, name='a'), dict(id=2, name='b')]))
    return gt, samples, dets


@pytest.mark.parametrize('seed', [0, 1])
def test_equals_cocoeval_run_by_hand(tmp_path, seed):
    ranges = [(16, 560), (0, 12), (30, float('inf')), (8.5, 40)]
    gt, samples, dets = _random_case(tmp_path, seed, with_masks=True)
    metric = ScaleRangeCocoMetric(ann_file=gt, metric=['bbox', 'segm'], scale_ranges=ranges)
    res = _run(metric, ('a', 'b'), samples)
    assert range_key(ranges[3]) == '8.5-40'
    for iou_type in ('bbox', 'segm'):
        for r in ranges:
            ap, ar = _hand_cocoeval(gt, dets, iou_type, r)
            key = range_key(r)
            assert res[f'coco/{iou_type}_mAP_{key}'] == float(f'{round(ap, 3)}'), (iou_type, r)
            assert res[f'coco/{iou_type}_mAR_{key}'] == float(f'{round(ar, 3)}'), (iou_type, r)
    # the usual keys are CocoMetric's own numbers
    from mmdet.evaluation.metrics import CocoMetric
    plain = CocoMetric(ann_file=gt, metric=['bbox', 'segm'])
    ref = _run(plain, ('a', 'b'), samples)
    for k, v in ref.items():
        assert res[k] == v


def test_range_uses_box_not_mask_area(tmp_path):
    """The thin GT (box scale 20, mask area 64) is in [16, 560] only by its box."""
    gt = _hand_gt(tmp_path)
    metric = ScaleRangeCocoMetric(ann_file=gt, scale_ranges=[(16, 560)])
    # detect only the thin GT
    res = _run(metric, ('thing', ), [_sample(1, (200, 200), [[20, 120, 40, 140]], [0.9], [0])])
    assert res['coco/bbox_mAR_16-560'] == round(1 / 3, 3)


def test_key_names_and_registry(tmp_path):
    assert range_key((16, 560)) == '16-560'
    assert range_key((120.0, float('inf'))) == '120-inf'
    assert range_key((0, None if False else 32.5)) == '0-32.5'
    m = METRICS.build(dict(type='ScaleRangeCocoMetric', ann_file=_hand_gt(tmp_path),
                           metric=['bbox'], scale_ranges=[(120, 'inf'), [16, 560]]))
    assert isinstance(m, ScaleRangeCocoMetric)
    assert m.range_keys == ['120-inf', '16-560']
    assert m.scale_ranges == [(120.0, math.inf), (16.0, 560.0)]


@pytest.mark.parametrize('ranges', [[(560, 16)], [], 'inf', [(16, )], [(-1, 5)],
                                    [(16, 560), (16.0, 560.0)], [('a', 5)], 16])
def test_bad_ranges(ranges):
    with pytest.raises(ValueError, match='scale_ranges'):
        ScaleRangeCocoMetric(scale_ranges=ranges)


def test_bad_annotation_files(tmp_path):
    missing = str(tmp_path / 'nope.json')
    with pytest.raises(FileNotFoundError, match='nope.json'):
        ScaleRangeCocoMetric(ann_file=missing)
    garbage = tmp_path / 'garbage.json'
    garbage.write_bytes(b'\x89PNG not json')
    with pytest.raises(ValueError, match='garbage.json'):
        ScaleRangeCocoMetric(ann_file=str(garbage))
    as_list = _write(tmp_path, 'list.json', [1, 2])
    with pytest.raises(ValueError, match='list.json'):
        ScaleRangeCocoMetric(ann_file=as_list)
    no_images = _write(tmp_path, 'noimg.json', dict(annotations=[], categories=[]))
    with pytest.raises(ValueError, match='noimg.json.*images'):
        ScaleRangeCocoMetric(ann_file=no_images)


def test_synthetic_val_perfect_predictions(synthetic_tiny):
    """GT as predictions on the synthetic val split: every range with GT scores 1.0."""
    coco = PyCOCO(synthetic_tiny['val_ann'])
    samples = []
    for img_id in coco.getImgIds():
        img = coco.imgs[img_id]
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[img_id]))
        boxes = [[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2],
                  a['bbox'][1] + a['bbox'][3]] for a in anns]
        masks = [coco.annToMask(a).astype(bool) for a in anns]
        samples.append(_sample(img_id, (img['height'], img['width']), boxes,
                               [0.9] * len(anns), [a['category_id'] - 1 for a in anns], masks))
    metric = ScaleRangeCocoMetric(ann_file=synthetic_tiny['val_ann'], metric=['bbox', 'segm'],
                                  scale_ranges=[(16, 560), (0, 16)])
    res = _run(metric, synthetic_tiny['classes'], samples)
    for m in ('bbox', 'segm'):
        for key in ('16-560', '0-16'):
            assert res[f'coco/{m}_mAP_{key}'] == 1.0
            assert res[f'coco/{m}_mAR_{key}'] == 1.0


def test_restrict_to_results_evaluates_the_images_run(synthetic_tiny):
    """Perfect predictions on half of the val images: with restrict_to_results every metric is
    1.0 (only those images count); by CocoMetric's default the other images' GT are missed."""
    coco = PyCOCO(synthetic_tiny['val_ann'])
    ids = coco.getImgIds()[:2]
    samples = []
    for img_id in ids:
        img = coco.imgs[img_id]
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[img_id]))
        boxes = [[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2],
                  a['bbox'][1] + a['bbox'][3]] for a in anns]
        samples.append(_sample(img_id, (img['height'], img['width']), boxes,
                               [0.9] * len(anns), [a['category_id'] - 1 for a in anns]))
    n_gt = len(coco.getAnnIds(imgIds=ids))
    assert n_gt < len(coco.getAnnIds())
    res = _run(ScaleRangeCocoMetric(ann_file=synthetic_tiny['val_ann'], restrict_to_results=True),
               synthetic_tiny['classes'], copy.deepcopy(samples))
    assert res['coco/bbox_mAP'] == 1.0 and res['coco/bbox_mAP_16-560'] == 1.0
    assert res['coco/bbox_mAR_16-560'] == 1.0
    full = _run(ScaleRangeCocoMetric(ann_file=synthetic_tiny['val_ann']),
                synthetic_tiny['classes'], copy.deepcopy(samples))
    assert full['coco/bbox_mAP'] < 1.0 and full['coco/bbox_mAR_16-560'] < 1.0
    with pytest.raises(ValueError, match='restrict_to_results'):
        ScaleRangeCocoMetric(restrict_to_results='yes')


def test_without_ann_file_gt_from_samples():
    """GT converted from the data samples (CocoMetric's ann_file=None path): area is w*h."""
    metric = ScaleRangeCocoMetric(scale_ranges=[(16, 560), (0, 16)])
    sample = _sample(0, (200, 200), [d[0] for d in DETS], [d[1] for d in DETS], [0] * len(DETS))
    sample['instances'] = [dict(bbox_label=0, ignore_flag=0,
                                bbox=[b[0], b[1], b[0] + b[2], b[1] + b[3]])
                           for b, _ in GT_BOXES]
    res = _run(metric, ('thing', ), [sample])
    assert res['coco/bbox_mAP_16-560'] == 0.75 and res['coco/bbox_mAR_16-560'] == 1.0
    assert res['coco/bbox_mAP_0-16'] == 0.0


# ------------------------------------------------------------ CocoMetric's own errors
def _raised(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the test compares whatever is raised
        return type(e), str(e)
    return None


@pytest.mark.parametrize('kwargs', [
    dict(format_only=True, outfile_prefix=None),  # AssertionError in CocoMetric
    dict(metric='unknown'),                       # KeyError
    dict(metric=['bbox', 'keypoints']),           # KeyError
    dict(file_client_args=dict(backend='local')),  # RuntimeError (deprecated argument)
])
@pytest.mark.parametrize('ann', ['good', 'garbage', None])
def test_cocometric_argument_errors_pass_through_unchanged(tmp_path, kwargs, ann):
    """CocoMetric checks its arguments before loading ann_file: the subclass raises the very
    same error (type and message), whatever the annotation file is, never 'not a COCO file'."""
    from mmdet.evaluation.metrics import CocoMetric
    if ann == 'good':
        ann = _hand_gt(tmp_path)
    elif ann == 'garbage':
        ann = str(tmp_path / 'garbage.json')
        open(ann, 'wb').write(b'\x89PNG not json')
    theirs = _raised(lambda: CocoMetric(ann_file=ann, **kwargs))
    ours = _raised(lambda: ScaleRangeCocoMetric(ann_file=ann, **kwargs))
    assert theirs is not None and not issubclass(theirs[0], ValueError)
    assert ours == theirs


def test_only_annotation_loading_is_wrapped(tmp_path):
    garbage = tmp_path / 'garbage.json'
    garbage.write_bytes(b'\x89PNG not json')
    with pytest.raises(ValueError, match='is not a COCO annotation file') as e:
        ScaleRangeCocoMetric(ann_file=str(garbage), format_only=True,
                             outfile_prefix=str(tmp_path / 'out'))
    assert isinstance(e.value.__cause__, (ValueError, UnicodeDecodeError))
    # sort_categories (CocoMetric's argument) still works on the loaded file
    gt = _write(tmp_path, 'unsorted.json', dict(
        images=[dict(id=1, width=10, height=10)], annotations=[],
        categories=[dict(id=3, name='c'), dict(id=1, name='a')]))
    m = ScaleRangeCocoMetric(ann_file=gt, sort_categories=True)
    assert [c['id'] for c in m._coco_api.dataset['categories']] == [1, 3]
    assert list(m._coco_api.cats) == [1, 3]
    m = ScaleRangeCocoMetric(ann_file=gt)
    assert [c['id'] for c in m._coco_api.dataset['categories']] == [3, 1]


# ----------------------------------------- mmdet 3.3's CocoMetric unit tests, on the subclass
# Ported from mmdetection tests/test_evaluation/test_metrics/test_coco_metric.py (not shipped in
# the mmdet wheel): same dummy data and targets. The subclass adds its range keys
# (default [16, 560]: every dummy GT, scales 20..100, lies inside, so they are 1.0 too).
def _mmdet_dummy_json(path):
    dummy_mask = np.zeros((10, 10), order='F', dtype=np.uint8)
    dummy_mask[:5, :5] = 1
    rle = mask_utils.encode(dummy_mask)
    rle['counts'] = rle['counts'].decode('utf-8')
    anns = [dict(id=i + 1, image_id=0, category_id=c, area=a, bbox=b, iscrowd=0,
                 segmentation=rle)
            for i, (c, a, b) in enumerate([(0, 400, [50, 60, 20, 20]), (0, 900, [100, 120, 30, 30]),
                                           (1, 1600, [150, 160, 40, 40]),
                                           (0, 10000, [250, 260, 100, 100])])]
    return _write(path, 'fake_data.json', dict(
        images=[dict(id=0, width=640, height=640, file_name='fake_name.jpg')], annotations=anns,
        categories=[dict(id=0, name='car', supercategory='car'),
                    dict(id=1, name='bicycle', supercategory='bicycle')]))


def _mmdet_dummy_pred():
    dummy_mask = np.zeros((4, 10, 10), dtype=np.uint8)
    dummy_mask[:, :5, :5] = 1
    return dict(bboxes=torch.from_numpy(np.array([[50, 60, 70, 80], [100, 120, 130, 150],
                                                  [150, 160, 190, 200], [250, 260, 350, 360]])),
                scores=torch.from_numpy(np.array([1.0, 0.98, 0.96, 0.95])),
                labels=torch.from_numpy(np.array([0, 0, 1, 0])),
                masks=torch.from_numpy(dummy_mask))


def _mmdet_run(metric, pred=None, **sample):
    metric.dataset_meta = dict(classes=['car', 'bicycle'])
    metric.process({}, [dict(pred_instances=_mmdet_dummy_pred() if pred is None else pred,
                             img_id=0, ori_shape=(640, 640), **sample)])
    res = metric.evaluate(size=1)
    ranged = {k: v for k, v in res.items() if '16-560' in k}
    return {k: v for k, v in res.items() if k not in ranged}, ranged


_BBOX_TARGET = {f'coco/bbox_{k}': 1.0 for k in ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m',
                                                'mAP_l')}
_SEGM_TARGET = {k.replace('bbox', 'segm'): v for k, v in _BBOX_TARGET.items()}


def test_mmdet_port_init():
    with pytest.raises(KeyError, match='metric should be one of'):
        ScaleRangeCocoMetric(ann_file=None, metric='unknown')


def test_mmdet_port_evaluate(tmp_path):
    ann = _mmdet_dummy_json(tmp_path)
    res, ranged = _mmdet_run(ScaleRangeCocoMetric(ann_file=ann, classwise=False,
                                                  outfile_prefix=f'{tmp_path}/test'))
    assert res == _BBOX_TARGET
    assert ranged == {'coco/bbox_mAP_16-560': 1.0, 'coco/bbox_mAR_16-560': 1.0}
    assert (tmp_path / 'test.bbox.json').is_file()
    res, ranged = _mmdet_run(ScaleRangeCocoMetric(ann_file=ann, metric=['bbox', 'segm'],
                                                  outfile_prefix=f'{tmp_path}/test'))
    assert res == {**_BBOX_TARGET, **_SEGM_TARGET}
    assert set(ranged) == {f'coco/{m}_m{a}_16-560' for m in ('bbox', 'segm') for a in ('AP', 'AR')}
    assert (tmp_path / 'test.segm.json').is_file()
    with pytest.raises(KeyError, match='metric item "invalid" is not supported'):
        _mmdet_run(ScaleRangeCocoMetric(ann_file=ann, metric_items=['invalid']))
    res, _ = _mmdet_run(ScaleRangeCocoMetric(ann_file=ann, metric_items=['mAP_m']))
    assert res == {'coco/bbox_mAP_m': 1.0}


def test_mmdet_port_classwise(tmp_path):
    res, _ = _mmdet_run(ScaleRangeCocoMetric(ann_file=_mmdet_dummy_json(tmp_path),
                                             metric='bbox', classwise=True))
    assert res == {**_BBOX_TARGET, 'coco/car_precision': 1.0, 'coco/bicycle_precision': 1.0}


def test_mmdet_port_iou_thrs_and_proposals(tmp_path):
    ann = _mmdet_dummy_json(tmp_path)
    assert ScaleRangeCocoMetric(ann_file=ann, iou_thrs=[0.3, 0.6]).iou_thrs == [0.3, 0.6]
    res, ranged = _mmdet_run(ScaleRangeCocoMetric(ann_file=ann, metric='proposal_fast'))
    assert res == {'coco/AR@100': 1.0, 'coco/AR@300': 1.0, 'coco/AR@1000': 1.0} and not ranged
    res, _ = _mmdet_run(ScaleRangeCocoMetric(ann_file=ann, metric='proposal_fast',
                                             proposal_nums=(2, 4)))
    assert res == {'coco/AR@2': 0.5, 'coco/AR@4': 1.0}
    res, ranged = _mmdet_run(ScaleRangeCocoMetric(ann_file=ann, metric='proposal'))
    assert res == {'coco/AR@100': 1, 'coco/AR@300': 1.0, 'coco/AR@1000': 1.0,
                   'coco/AR_s@1000': 1.0, 'coco/AR_m@1000': 1.0, 'coco/AR_l@1000': 1.0}
    assert ranged == {'coco/proposal_mAR_16-560': 1.0}


def test_mmdet_port_empty_results(tmp_path):
    empty = dict(bboxes=torch.zeros(0, 4), scores=torch.zeros(0), labels=torch.zeros(0),
                 masks=torch.zeros(0, 10, 10, dtype=torch.uint8))
    res, ranged = _mmdet_run(ScaleRangeCocoMetric(ann_file=_mmdet_dummy_json(tmp_path)),
                             pred=empty)
    assert res == {} and ranged == {}  # CocoMetric logs 'no prediction' and returns nothing


def test_mmdet_port_without_json(tmp_path):
    rle = mask_utils.encode(np.asfortranarray(np.pad(np.ones((5, 5), np.uint8), ((0, 5), (0, 5)))))
    rle['counts'] = rle['counts'].decode('utf-8')
    instances = [dict(bbox_label=lb, bbox=b, ignore_flag=0, mask=rle) for lb, b in (
        (0, [50, 60, 70, 80]), (0, [100, 120, 130, 150]), (1, [150, 160, 190, 200]),
        (0, [250, 260, 350, 360]))]
    res, ranged = _mmdet_run(ScaleRangeCocoMetric(ann_file=None, metric=['bbox', 'segm'],
                                                  outfile_prefix=f'{tmp_path}/test'),
                             instances=instances)
    assert res == {**_BBOX_TARGET, **_SEGM_TARGET}
    assert ranged['coco/bbox_mAP_16-560'] == 1.0 and ranged['coco/segm_mAP_16-560'] == 1.0
    for suffix in ('bbox', 'segm', 'gt'):
        assert (tmp_path / f'test.{suffix}.json').is_file()


def test_mmdet_port_format_only(tmp_path):
    ann = _mmdet_dummy_json(tmp_path)
    with pytest.raises(AssertionError):
        ScaleRangeCocoMetric(ann_file=ann, format_only=True, outfile_prefix=None)
    m = ScaleRangeCocoMetric(ann_file=ann, metric='bbox', format_only=True,
                             outfile_prefix=f'{tmp_path}/test')
    res, ranged = _mmdet_run(m)
    assert res == {} and ranged == {}
    assert (tmp_path / 'test.bbox.json').is_file()
