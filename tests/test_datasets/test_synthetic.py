"""Tests of the synthetic extreme-scale benchmark generator."""
import hashlib
import json
import math
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from mmdet_scalenorm.datasets.synthetic import (FIGURE_FLIP_PAIRS, FIGURE_KEYPOINTS,
                                                SYNTHETIC_CLASSES, SYNTHETIC_METAINFO,
                                                generate_synthetic_coco, resolve_params)


def _digest_tree(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = osp.join(d, f)
            with open(p, 'rb') as fh:
                out[osp.relpath(p, root)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def _load(path):
    with open(path) as f:
        return json.load(f)


def test_same_seed_identical_files_and_other_seed_differs(tmp_path, synthetic_tiny):
    again = generate_synthetic_coco(str(tmp_path / 'a'), preset='tiny', seed=0, progress=False)
    assert again['cached'] is False
    assert _digest_tree(again['data_root']) == _digest_tree(synthetic_tiny['data_root'])
    other = generate_synthetic_coco(str(tmp_path / 'b'), preset='tiny', seed=1, progress=False)
    a, b = _load(again['train_ann']), _load(other['train_ann'])
    assert a['annotations'] != b['annotations']
    with open(osp.join(again['train_img'], '000000.jpg'), 'rb') as f1, \
            open(osp.join(other['train_img'], '000000.jpg'), 'rb') as f2:
        assert f1.read() != f2.read()


def test_image_i_independent_of_split_size(tmp_path, synthetic_tiny):
    more = generate_synthetic_coco(str(tmp_path), preset='tiny', num_train=7, progress=False)
    small, big = _load(synthetic_tiny['train_ann']), _load(more['train_ann'])
    assert len(big['images']) == 7
    assert big['images'][:6] == small['images']
    assert big['annotations'][:len(small['annotations'])] == small['annotations']


def test_layout_and_pycocotools_loads(synthetic_tiny):
    d = synthetic_tiny
    assert d['classes'] == SYNTHETIC_CLASSES == SYNTHETIC_METAINFO['classes']
    for split, n in (('train', 6), ('val', 4)):
        coco = COCO(d[f'{split}_ann'])
        assert len(coco.getImgIds()) == n
        assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == list(SYNTHETIC_CLASSES)
        for img in coco.loadImgs(coco.getImgIds()):
            arr = cv2.imread(osp.join(d[f'{split}_img'], img['file_name']))
            assert arr is not None and arr.shape == (img['height'], img['width'], 3)
            assert 128 <= img['height'] <= 320 and 128 <= img['width'] <= 320
        assert len(coco.getAnnIds()) > 0


def test_masks_match_boxes_and_area(synthetic_tiny):
    coco = COCO(synthetic_tiny['train_ann'])
    for ann in coco.loadAnns(coco.getAnnIds()):
        img = coco.imgs[ann['image_id']]
        m = coco.annToMask(ann)
        assert m.shape == (img['height'], img['width'])
        ys, xs = np.nonzero(m)
        mask_box = [xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()]
        assert np.allclose(mask_box, ann['bbox'], atol=1)
        assert ann['area'] == int(m.sum()) == int(mask_utils.area(ann['segmentation']))
        assert ann['iscrowd'] == 0
        x, y, w, h = ann['bbox']
        assert x >= 0 and y >= 0 and x + w <= img['width'] and y + h <= img['height']


def test_masks_do_not_overlap_and_respect_min_visible(synthetic_tiny):
    """Occlusion: visible masks of one image are disjoint (the label map is exact)."""
    coco = COCO(synthetic_tiny['train_ann'])
    for img_id in coco.getImgIds():
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[img_id]))
        total = sum(coco.annToMask(a).astype(np.int32) for a in anns)
        assert total.max() <= 1


def test_keypoints(synthetic_tiny):
    data = _load(synthetic_tiny['train_ann'])
    cats = {c['name']: c for c in data['categories']}
    fig = cats['figure']
    assert fig['keypoints'] == list(FIGURE_KEYPOINTS)
    assert fig['flip_pairs'] == FIGURE_FLIP_PAIRS
    for a, b in fig['flip_pairs']:
        na, nb = fig['keypoints'][a], fig['keypoints'][b]
        assert na.startswith('left_') and nb == 'right_' + na[len('left_'):]
    k = len(FIGURE_KEYPOINTS)
    assert all(1 <= i <= k and 1 <= j <= k for i, j in fig['skeleton'])
    n_fig = 0
    for ann in data['annotations']:
        if ann['category_id'] != fig['id']:
            assert 'keypoints' not in ann
            continue
        n_fig += 1
        kps = np.asarray(ann['keypoints'], dtype=float).reshape(k, 3)
        assert ann['num_keypoints'] == int((kps[:, 2] > 0).sum()) > 0
        x, y, w, h = ann['bbox']
        vis = kps[kps[:, 2] > 0]
        assert np.all((vis[:, 0] >= x) & (vis[:, 0] <= x + w))
        assert np.all((vis[:, 1] >= y) & (vis[:, 1] <= y + h))
        assert np.all(kps[kps[:, 2] == 0, :2] == 0)
    # the tiny preset must exercise the articulated class (train or val)
    val = _load(synthetic_tiny['val_ann'])['annotations']
    n_fig += sum(a['category_id'] == fig['id'] for a in val)
    assert n_fig > 0


def test_visible_keypoints_lie_on_the_mask(synthetic_tiny):
    coco = COCO(synthetic_tiny['train_ann'])
    fig_id = coco.getCatIds(catNms=['figure'])[0]
    for ann in coco.loadAnns(coco.getAnnIds(catIds=[fig_id])):
        m = coco.annToMask(ann)
        kps = np.asarray(ann['keypoints']).reshape(-1, 3)
        for x, y, v in kps:
            if v == 2:
                assert m[int(y), int(x)] == 1


def test_size_distribution_spans_small_and_large(synthetic_tiny):
    scales = []
    for split in ('train', 'val'):
        scales += [math.sqrt(a['bbox'][2] * a['bbox'][3])
                   for a in _load(synthetic_tiny[f'{split}_ann'])['annotations']]
    scales = np.asarray(scales)
    assert scales.min() < 16 and scales.max() > 96
    assert (scales < 32).sum() >= 3 and (scales > 64).sum() >= 3
    cats = {a['category_id'] for s in ('train', 'val')
            for a in _load(synthetic_tiny[f'{s}_ann'])['annotations']}
    assert cats == set(range(1, len(SYNTHETIC_CLASSES) + 1))


def test_cache_hit_does_not_rewrite(synthetic_tiny):
    root = synthetic_tiny['data_root']
    files = [osp.join(d, f) for d, _, fs in os.walk(root) for f in fs]
    before = {f: os.stat(f).st_mtime_ns for f in files}
    again = generate_synthetic_coco(root, preset='tiny', seed=0, progress=False)
    assert again['cached'] is True
    assert {f: os.stat(f).st_mtime_ns for f in files} == before
    assert again['train_ann'] == synthetic_tiny['train_ann']


def test_cache_miss_on_changed_params_or_corrupt_annotations(tmp_path):
    out = str(tmp_path)
    first = generate_synthetic_coco(out, preset='tiny', num_train=2, num_val=1, progress=False)
    assert not first['cached']
    assert generate_synthetic_coco(out, preset='tiny', num_train=2, num_val=1,
                                   progress=False)['cached']
    # other params: regenerate
    other = generate_synthetic_coco(out, preset='tiny', num_train=3, num_val=1, progress=False)
    assert not other['cached'] and len(_load(other['train_ann'])['images']) == 3
    # a damaged annotation file fails the checksum: regenerate
    with open(other['train_ann'], 'a') as f:
        f.write(' ')
    again = generate_synthetic_coco(out, preset='tiny', num_train=3, num_val=1, progress=False)
    assert not again['cached']
    COCO(again['train_ann'])
    # a missing image: regenerate
    os.remove(osp.join(again['val_img'], '000000.jpg'))
    assert not generate_synthetic_coco(out, preset='tiny', num_train=3, num_val=1,
                                       progress=False)['cached']


def test_png_format(tmp_path):
    d = generate_synthetic_coco(str(tmp_path), num_train=1, num_val=1, img_format='png',
                                progress=False)
    name = _load(d['train_ann'])['images'][0]['file_name']
    assert name.endswith('.png') and cv2.imread(osp.join(d['train_img'], name)) is not None


@pytest.mark.parametrize('kwargs,key', [
    (dict(preset='huge'), 'preset'),
    (dict(num_train=0), 'num_train'),
    (dict(num_val=1.5), 'num_val'),
    (dict(img_size_range=(300, 200)), 'img_size_range'),
    (dict(img_size_range=(16, 200)), 'img_size_range'),
    (dict(obj_size_range=(6, float('inf'))), 'obj_size_range'),
    (dict(obj_size_range=(500, 600)), 'obj_size_range'),
    (dict(obj_size_range='big'), 'obj_size_range'),
    (dict(max_objects=0), 'max_objects'),
    (dict(min_objects=9, max_objects=8), 'min_objects'),
    (dict(min_visible=0), 'min_visible'),
    (dict(img_format='bmp'), 'img_format'),
    (dict(colour='red'), 'colour'),
])
def test_bad_arguments_name_the_key(kwargs, key):
    with pytest.raises(ValueError, match=key):
        resolve_params(**kwargs)


def test_bad_seed_and_unwritable_dir(tmp_path):
    with pytest.raises(ValueError, match='seed'):
        generate_synthetic_coco(str(tmp_path), seed=-1)
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    with pytest.raises(OSError, match='file'):
        generate_synthetic_coco(str(blocker / 'sub'), progress=False)


def test_large_preset_draws_larger_images_and_objects(tmp_path):
    """The 'large' preset (the equal-wall-time comparison's benchmark): sides 320-960 px,
    objects 6-600 px (sqrt of the box area, up to the clipping of partly visible objects)."""
    params = resolve_params('large')
    assert params['img_size_range'] == (320, 960) and params['obj_size_range'] == (6.0, 600.0)
    assert (params['num_train'], params['num_val']) == (400, 80)
    d = generate_synthetic_coco(str(tmp_path), preset='large', seed=0, num_train=3, num_val=1,
                                progress=False)
    for split in ('train', 'val'):
        data = _load(d[f'{split}_ann'])
        for img in data['images']:
            assert 320 <= img['width'] <= 960 and 320 <= img['height'] <= 960
        for ann in data['annotations']:
            assert math.sqrt(ann['bbox'][2] * ann['bbox'][3]) <= 600 + 1e-6
