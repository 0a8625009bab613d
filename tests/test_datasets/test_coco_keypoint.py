"""CocoKeypointDataset: per-instance keypoints, keypoint metainfo, keypoint filter, bad input."""
import copy
import json

import numpy as np
import pytest
from pycocotools.coco import COCO

from mmdet.registry import DATASETS

import mmdet_scalenorm  # noqa: F401
from mmdet_scalenorm.datasets import coco_keypoint
from mmdet_scalenorm.datasets.coco_keypoint import (COCO_PERSON_KEYPOINTS, COCO_PERSON_SIGMAS,
                                                    FIGURE_SIGMAS, SYNTHETIC_KEYPOINT_METAINFO,
                                                    CocoKeypointDataset, flip_indices_from_names)
from mmdet_scalenorm.datasets.synthetic import (FIGURE_FLIP_PAIRS, FIGURE_KEYPOINTS,
                                                FIGURE_SKELETON, SYNTHETIC_METAINFO)

NAMES = ['nose', 'left_eye', 'right_eye']
META = dict(classes=('person', 'ball'), sigmas=[0.1, 0.2, 0.2])


def coco_json():
    """Two images (plus one whose only person has no labelled keypoint), hand-written."""
    images = [dict(id=10, file_name='a.jpg', width=100, height=80),
              dict(id=20, file_name='b.jpg', width=50, height=50),
              dict(id=30, file_name='c.jpg', width=60, height=60)]
    cats = [dict(id=1, name='person', keypoints=list(NAMES), skeleton=[[1, 2], [1, 3]]),
            dict(id=2, name='ball')]

    def ann(i, img, cat, bbox, **kw):
        return dict(id=i, image_id=img, category_id=cat, bbox=bbox, area=bbox[2] * bbox[3],
                    iscrowd=0, **kw)

    anns = [ann(1, 10, 1, [10, 10, 30, 40], keypoints=[20, 15, 2, 0, 0, 0, 25, 30, 1],
                num_keypoints=2),
            ann(2, 10, 2, [50, 50, 10, 10]),  # a ball: no keypoints
            ann(3, 10, 1, [60, 5, 20, 30], keypoints=[0] * 9, num_keypoints=0),
            dict(ann(4, 10, 1, [0, 40, 40, 30], keypoints=[0] * 9, num_keypoints=0), iscrowd=1),
            ann(5, 10, 1, [0, 0, 0.5, 10], keypoints=[1, 1, 2] * 3),  # w < 1: mmdet skips it
            ann(6, 20, 2, [5, 5, 20, 20]),
            ann(7, 30, 1, [5, 5, 20, 20], keypoints=[0] * 9)]
    return dict(images=images, categories=cats, annotations=anns)


def build(tmp_path, data=None, metainfo=META, **kw):
    path = tmp_path / 'kp.json'
    path.write_text(json.dumps(coco_json() if data is None else data))
    kw.setdefault('filter_cfg', dict(filter_empty_gt=True))
    kw.setdefault('serialize_data', False)  # mmengine's serialization runs gc.collect (slow)
    return CocoKeypointDataset(ann_file=str(path), data_prefix=dict(img=''),
                               metainfo=copy.deepcopy(metainfo), pipeline=[], **kw)


def test_hand_computed_instances_and_metainfo(tmp_path, monkeypatch):
    logs = []
    monkeypatch.setattr(coco_keypoint, 'print_log', lambda msg, **kw: logs.append(msg))
    ds = build(tmp_path)
    assert len(ds) == 1 and ds.num_no_keypoint_images == 2
    assert '2 of 3 images have no labelled keypoint' in logs[0]
    info = ds.get_data_info(0)
    assert info['img_id'] == 10 and info['flip_indices'] == [0, 2, 1]
    inst = info['instances']
    assert [i['bbox_label'] for i in inst] == [0, 1, 0, 0]  # ann 5 skipped by mmdet's rule
    assert [i['ignore_flag'] for i in inst] == [0, 0, 0, 1]
    assert inst[0]['bbox'] == [10, 10, 40, 50]
    np.testing.assert_array_equal(inst[0]['keypoints'], [[20, 15, 2], [0, 0, 0], [25, 30, 1]])
    for i in inst[1:]:  # the ball, the person with no labelled keypoint, the crowd
        np.testing.assert_array_equal(i['keypoints'], np.zeros((3, 3)))
        assert i['keypoints'].dtype == np.float32
    meta = ds.metainfo
    assert meta['keypoint_names'] == tuple(NAMES)
    assert meta['skeleton'] == [[0, 1], [0, 2]]
    assert meta['flip_indices'] == [0, 2, 1]
    np.testing.assert_array_equal(meta['sigmas'], [0.1, 0.2, 0.2])


def test_instances_match_mmdet_coco_dataset(tmp_path):
    """Boxes, labels and flags are CocoDataset's own (keypoints only added)."""
    from mmdet.datasets import CocoDataset
    ours = build(tmp_path, filter_cfg=None)
    ref = CocoDataset(ann_file=str(tmp_path / 'kp.json'), data_prefix=dict(img=''),
                      metainfo=dict(classes=META['classes']), pipeline=[])
    assert len(ours) == len(ref) == 3
    for i in range(3):
        a, b = ours.get_data_info(i), ref.get_data_info(i)
        strip = [{k: v for k, v in d.items() if k != 'keypoints'} for d in a['instances']]
        assert strip == b['instances']


@pytest.mark.parametrize('cfg, n', [(None, 3), (dict(filter_empty_gt=False), 3),
                                    (dict(filter_empty_gt=True, filter_empty_keypoints=False), 3),
                                    (dict(filter_empty_gt=False, filter_empty_keypoints=True), 1)])
def test_keypoint_filter_follows_filter_cfg(tmp_path, cfg, n):
    # images 20 (a ball only) and 30 (a person without labelled keypoint) have annotations, so
    # only the keypoint filter drops them
    assert len(build(tmp_path, filter_cfg=cfg)) == n
    assert len(build(tmp_path, filter_cfg=cfg, test_mode=True)) == 3


def test_coco_person_builtins(tmp_path):
    data = dict(images=[dict(id=1, file_name='a.jpg', width=10, height=10)],
                categories=[dict(id=1, name='person', keypoints=list(COCO_PERSON_KEYPOINTS),
                                 skeleton=[[16, 14], [14, 12]])],
                annotations=[dict(id=1, image_id=1, category_id=1, bbox=[1, 1, 5, 5], area=25,
                                  iscrowd=0, keypoints=[3, 3, 2] + [0] * 48)])
    ds = build(tmp_path, data, metainfo=dict(classes=('person', )))
    meta = ds.metainfo
    np.testing.assert_allclose(meta['sigmas'], np.array(
        [.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89])
        / 10)
    assert meta['flip_indices'] == [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
    assert meta['skeleton'] == [[15, 13], [13, 11]]
    assert ds.get_data_info(0)['instances'][0]['keypoints'].shape == (17, 3)
    from pycocotools.cocoeval import Params
    np.testing.assert_allclose(COCO_PERSON_SIGMAS, Params(iouType='keypoints').kpt_oks_sigmas)


def test_flip_indices_from_names():
    assert flip_indices_from_names(['a', 'left_x', 'b', 'right_x']) == [0, 3, 2, 1]
    with pytest.raises(ValueError, match="'left_y' has no 'right_y'"):
        flip_indices_from_names(['left_y', 'right_x', 'left_x'])


def test_metainfo_only_keypoint_names(tmp_path):
    """A file whose categories name no keypoints: metainfo's names give K to every category."""
    data = coco_json()
    del data['categories'][0]['keypoints'], data['categories'][0]['skeleton']
    data['annotations'] = [a for a in data['annotations'] if a['category_id'] == 1]
    ds = build(tmp_path, data, metainfo=dict(META, keypoint_names=NAMES,
                                             flip_indices=[0, 2, 1]))
    assert ds.metainfo['skeleton'] == [] and ds.metainfo['keypoint_names'] == tuple(NAMES)
    np.testing.assert_array_equal(ds.get_data_info(0)['instances'][0]['keypoints'][2],
                                  [25, 30, 1])


def test_synthetic_tiny_loads_with_figure_keypoints(synthetic_tiny):
    ann_file = synthetic_tiny['train_ann']
    ds = CocoKeypointDataset(ann_file=ann_file, data_prefix=dict(img=synthetic_tiny['train_img']),
                             metainfo=SYNTHETIC_METAINFO, filter_cfg=None, pipeline=[])
    meta = ds.metainfo
    assert meta['keypoint_names'] == FIGURE_KEYPOINTS and len(FIGURE_KEYPOINTS) == 13
    np.testing.assert_array_equal(meta['sigmas'], FIGURE_SIGMAS)
    assert meta['skeleton'] == [[a - 1, b - 1] for a, b in FIGURE_SKELETON]
    flip = meta['flip_indices']
    assert flip == [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11]
    assert all(flip[a] == b and flip[b] == a for a, b in FIGURE_FLIP_PAIRS)
    assert SYNTHETIC_KEYPOINT_METAINFO['flip_indices'] == flip
    np.testing.assert_array_equal(SYNTHETIC_KEYPOINT_METAINFO['sigmas'], FIGURE_SIGMAS)

    coco = COCO(ann_file)
    figure = [c['id'] for c in coco.dataset['categories'] if c['name'] == 'figure'][0]
    n_fig = n_with_kp = 0
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[info['img_id']]))
        assert len(anns) == len(info['instances'])  # every synthetic annotation is kept
        for ann, inst in zip(anns, info['instances']):
            if ann['category_id'] == figure:
                n_fig += 1
                np.testing.assert_array_equal(inst['keypoints'],
                                              np.reshape(ann['keypoints'], (13, 3)))
            else:
                np.testing.assert_array_equal(inst['keypoints'], np.zeros((13, 3)))
        n_with_kp += any(a.get('num_keypoints', 0) > 0 for a in anns)
    assert n_fig > 0
    # the training filter keeps exactly the images with a labelled figure keypoint
    kept = CocoKeypointDataset(ann_file=ann_file, metainfo=SYNTHETIC_KEYPOINT_METAINFO,
                               data_prefix=dict(img=synthetic_tiny['train_img']),
                               filter_cfg=dict(filter_empty_gt=True), pipeline=[])
    assert len(kept) == n_with_kp and kept.num_no_keypoint_images == len(ds) - n_with_kp
    np.testing.assert_array_equal(kept.metainfo['sigmas'], FIGURE_SIGMAS)


def test_registered(tmp_path):
    path = tmp_path / 'kp.json'
    path.write_text(json.dumps(coco_json()))
    ds = DATASETS.build(dict(type='CocoKeypointDataset', ann_file=str(path), metainfo=META,
                             data_prefix=dict(img=''), pipeline=[]))
    assert isinstance(ds, CocoKeypointDataset) and len(ds) == 3


def with_keypoints(ann_id, kps):
    data = coco_json()
    for a in data['annotations']:
        if a['id'] == ann_id:
            a['keypoints'] = kps
    return data


@pytest.mark.parametrize('ann_id, kps, match', [
    (1, [20, 15, 2, 0, 0, 0, 25, 30], 'image 10 annotation 1 .*8 numbers.*3\\*K=9'),
    (1, [float('nan'), 15, 2] + [0] * 6, 'image 10 annotation 1 .*NaN/inf'),
    (1, [float('inf'), 15, 2] + [0] * 6, 'image 10 annotation 1 .*NaN/inf'),
    (1, [20, 15, 3] + [0] * 6, 'image 10 annotation 1 .*v must be 0, 1 or 2'),
    (3, [20, 15, 0.5] + [0] * 6, 'image 10 annotation 3 .*v must be 0, 1 or 2'),
    (1, ['a', 15, 2] + [0] * 6, 'image 10 annotation 1 .*flat list of numbers'),
    (5, [[1, 1, 2]] * 3, 'image 10 annotation 5 .*9 numbers.*3\\*K=9'),  # nested (3, 3)
    (2, [1, 1, 2], "image 10 annotation 2 \\(category 2 'ball'\\).*K=0"),
])
def test_bad_keypoints_name_image_and_annotation(tmp_path, ann_id, kps, match):
    with pytest.raises(ValueError, match=match):
        build(tmp_path, with_keypoints(ann_id, kps))


def test_missing_or_inconsistent_keypoint_metainfo(tmp_path):
    data = coco_json()
    del data['categories'][0]['keypoints']
    with pytest.raises(ValueError, match='missing keypoint metainfo.*keypoint_names'):
        build(tmp_path, data)
    with pytest.raises(ValueError, match='missing keypoint metainfo.*sigmas'):
        build(tmp_path, metainfo=dict(classes=META['classes']))
    with pytest.raises(ValueError, match='sigmas.*3 finite numbers > 0'):
        build(tmp_path, metainfo=dict(META, sigmas=[0.1, 0.2]))
    with pytest.raises(ValueError, match='sigmas.*3 finite numbers > 0'):
        build(tmp_path, metainfo=dict(META, sigmas=[0.1, 0.0, 0.2]))
    with pytest.raises(ValueError, match='keypoint_names.*differs'):
        build(tmp_path, metainfo=dict(META, keypoint_names=['a', 'b', 'c']))
    with pytest.raises(ValueError, match='flip_indices.*self-inverse permutation of 0..2'):
        build(tmp_path, metainfo=dict(META, flip_indices=[0, 1, 1]))
    with pytest.raises(ValueError, match='flip_indices.*self-inverse'):
        build(tmp_path, metainfo=dict(META, flip_indices=[1, 2, 0]))
    with pytest.raises(ValueError, match='skeleton.*outside 0..2'):
        build(tmp_path, metainfo=dict(META, skeleton=[[0, 3]]))
    with pytest.raises(ValueError, match='skeleton must be a list of index pairs'):
        build(tmp_path, metainfo=dict(META, skeleton=[[0, 1, 2]]))
    data = coco_json()
    data['categories'][0]['keypoints'] = ['left_eye', 'nose', 'eye']
    with pytest.raises(ValueError, match="'left_eye' has no 'right_eye'"):
        build(tmp_path, data)
    data = coco_json()
    data['categories'][1].update(keypoints=['a'])
    with pytest.raises(ValueError, match="'person' and 'ball' have different keypoint names"):
        build(tmp_path, data)


def test_annotation_without_keypoints_field_is_counted_and_all_zero(tmp_path):
    data = coco_json()
    del data['annotations'][0]['keypoints']  # ann 1, the only labelled person of image 10
    ds = build(tmp_path, data, filter_cfg=None)
    assert ds.num_missing_keypoints == 1
    np.testing.assert_array_equal(ds.get_data_info(0)['instances'][0]['keypoints'],
                                  np.zeros((3, 3)))


def test_explicit_flip_and_skeleton_metainfo_win(tmp_path):
    ds = build(tmp_path, metainfo=dict(META, flip_indices=[0, 1, 2], skeleton=[[1, 2]]))
    assert ds.metainfo['flip_indices'] == [0, 1, 2] and ds.metainfo['skeleton'] == [[1, 2]]
    assert ds.get_data_info(0)['flip_indices'] == [0, 1, 2]
