"""Keypoint transforms: loading, resize, flip, packing, and keypoints through SampleChip /
ResizeToChipScale / MarkValidRange (hand-computed values and a pixel-content property)."""
import copy

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from mmdet.datasets.transforms import LoadAnnotations, PackDetInputs, RandomFlip, Resize
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import HorizontalBoxes

import mmdet_scalenorm  # noqa: F401  (registers the transforms)
from mmdet_scalenorm.datasets.transforms import (KeypointRandomFlip, KeypointResize,
                                                 LoadAnnotationsWithKeypoints, MarkValidRange,
                                                 PackScaleNormInputs, ResizeToChipScale,
                                                 SampleChip)
from mmdet_scalenorm.datasets.transforms.keypoints import drop_outside_keypoints


def instances():
    return [dict(bbox=[0, 0, 10, 10], bbox_label=0, ignore_flag=0,
                 keypoints=np.array([[1, 2, 2], [0, 0, 0]], np.float32)),
            dict(bbox=[5, 5, 8, 9], bbox_label=1, ignore_flag=1, keypoints=[[3, 4, 1], [6, 7, 2]])]


def scene(kps, h=10, w=20, boxes=None, **extra):
    kps = np.asarray(kps, np.float32)
    boxes = np.tile([[1, 1, 5, 5]], (len(kps), 1)) if boxes is None else boxes
    img = (np.arange(h * w * 3) % 251).astype(np.uint8).reshape(h, w, 3)
    return dict(img=img, img_shape=(h, w), ori_shape=(h, w),
                gt_bboxes=HorizontalBoxes(np.asarray(boxes, np.float32)),
                gt_bboxes_labels=np.arange(len(kps)), gt_ignore_flags=np.zeros(len(kps), bool),
                gt_keypoints=kps, **extra)


# ---------------------------------------------------------------- loading
def test_load_keypoints_aligned_with_boxes_including_ignored():
    res = dict(img_id=7, instances=instances())
    out = TRANSFORMS.build(dict(type='LoadAnnotationsWithKeypoints'))(copy.deepcopy(res))
    ref = LoadAnnotations()(copy.deepcopy(res))
    assert out['gt_keypoints'].dtype == np.float32
    np.testing.assert_array_equal(out['gt_keypoints'],
                                  [[[1, 2, 2], [0, 0, 0]], [[3, 4, 1], [6, 7, 2]]])
    np.testing.assert_array_equal(out['gt_ignore_flags'], [False, True])
    np.testing.assert_array_equal(out['gt_bboxes'].tensor, ref['gt_bboxes'].tensor)
    np.testing.assert_array_equal(out['gt_bboxes_labels'], ref['gt_bboxes_labels'])
    out = LoadAnnotationsWithKeypoints(with_keypoints=False)(dict(instances=instances()))
    assert 'gt_keypoints' not in out and len(out['gt_bboxes']) == 2


def test_load_empty_image_needs_k():
    out = LoadAnnotationsWithKeypoints()(dict(instances=[], flip_indices=[0, 2, 1]))
    assert out['gt_keypoints'].shape == (0, 3, 3) and out['gt_keypoints'].dtype == np.float32
    out = LoadAnnotationsWithKeypoints(num_keypoints=4)(dict(instances=[]))
    assert out['gt_keypoints'].shape == (0, 4, 3)
    with pytest.raises(ValueError, match='image 3 has no instances and K is unknown'):
        LoadAnnotationsWithKeypoints()(dict(img_id=3, instances=[]))


def test_load_bad_input():
    inst = instances()
    del inst[1]['keypoints']
    with pytest.raises(ValueError, match='image 5: instance 1 has no "keypoints"'):
        LoadAnnotationsWithKeypoints()(dict(img_id=5, instances=inst))
    inst = instances()
    inst[1]['keypoints'] = [[3, 4, 1]]
    with pytest.raises(ValueError, match='image 5: instance keypoints must all be \\(K, 3\\)'):
        LoadAnnotationsWithKeypoints()(dict(img_id=5, instances=inst))
    with pytest.raises(ValueError, match='with_keypoints must be True or False'):
        LoadAnnotationsWithKeypoints(with_keypoints='yes')
    with pytest.raises(ValueError, match='num_keypoints must be None or an int >= 1'):
        LoadAnnotationsWithKeypoints(num_keypoints=0)


# ---------------------------------------------------------------- resize
def test_resize_scales_keypoints_and_drops_outside():
    res = scene([[[3, 4, 2], [0, 0, 0], [25, 5, 2]]])  # (25, 5) lies right of the 20 px image
    ref = Resize(scale_factor=2.0)(copy.deepcopy(res))
    out = TRANSFORMS.build(dict(type='KeypointResize', scale_factor=2.0))(res)
    assert out['img_shape'] == (20, 40)
    np.testing.assert_array_equal(out['gt_keypoints'], [[[6, 8, 2], [0, 0, 0], [0, 0, 0]]])
    np.testing.assert_array_equal(out['gt_bboxes'].tensor, ref['gt_bboxes'].tensor)
    np.testing.assert_array_equal(out['img'], ref['img'])
    # keep_ratio: 20x10 into (30, 30) -> 30x15, scale 1.5 on both axes
    out = KeypointResize(scale=(30, 30), keep_ratio=True)(scene([[[3, 4, 2], [20, 10, 1]]]))
    assert out['img_shape'] == (15, 30)
    np.testing.assert_allclose(out['gt_keypoints'], [[[4.5, 6, 2], [30, 15, 1]]])


def test_drop_outside_keypoints_rule():
    kps = np.array([[[0, 0, 2], [20, 10, 2], [20.5, 3, 2], [3, -1, 1], [4, 4, 0], [np.nan, 1, 2]]],
                   np.float32)
    out = drop_outside_keypoints(kps, (10, 20))
    np.testing.assert_array_equal(out, [[[0, 0, 2], [20, 10, 2], [0, 0, 0], [0, 0, 0], [0, 0, 0],
                                         [0, 0, 0]]])


# ---------------------------------------------------------------- flip
def test_horizontal_flip_hand_computed():
    kps = [[[2, 3, 2], [5, 6, 1], [0, 0, 0]]]
    res = scene(kps, flip_indices=[0, 2, 1])
    ref = RandomFlip(prob=1.0)(copy.deepcopy(res))
    out = TRANSFORMS.build(dict(type='KeypointRandomFlip', prob=1.0))(res)
    # x -> 20 - x; keypoint 1 becomes keypoint 2 and 2 becomes 1; v=0 stays (0, 0, 0)
    np.testing.assert_array_equal(out['gt_keypoints'], [[[18, 3, 2], [0, 0, 0], [15, 6, 1]]])
    np.testing.assert_array_equal(out['gt_bboxes'].tensor, ref['gt_bboxes'].tensor)
    np.testing.assert_array_equal(out['img'], ref['img'])
    assert out['flip'] and out['flip_direction'] == 'horizontal'
    np.testing.assert_array_equal(out['homography_matrix'], ref['homography_matrix'])


def test_flip_twice_is_identity_and_prob_zero_is_noop():
    kps = np.array([[[2, 3, 2], [5, 6, 1], [7, 1, 2], [0, 0, 0]]], np.float32)
    flip = KeypointRandomFlip(prob=1.0, flip_indices=[1, 0, 3, 2])
    once = flip(scene(kps))
    np.testing.assert_array_equal(once['gt_keypoints'],
                                  [[[15, 6, 1], [18, 3, 2], [0, 0, 0], [13, 1, 2]]])
    twice = flip(once)
    np.testing.assert_array_equal(twice['gt_keypoints'], kps)
    out = KeypointRandomFlip(prob=0.0)(scene(kps))  # no flip: no flip_indices needed
    assert not out['flip']
    np.testing.assert_array_equal(out['gt_keypoints'], kps)


def test_flip_errors():
    kps = [[[2, 3, 2], [5, 6, 1], [0, 0, 0]]]
    with pytest.raises(ValueError, match='needs flip_indices'):
        KeypointRandomFlip(prob=1.0)(scene(kps))
    with pytest.raises(ValueError, match=r'differs from KeypointRandomFlip\(flip_indices'):
        KeypointRandomFlip(prob=1.0, flip_indices=[0, 1, 2])(scene(kps, flip_indices=[0, 2, 1]))
    with pytest.raises(ValueError, match=r'flip_indices \(K=3\).*permutation of 0..2'):
        KeypointRandomFlip(prob=1.0)(scene(kps, flip_indices=[1, 0]))
    with pytest.raises(ValueError, match='self-inverse permutation'):
        KeypointRandomFlip(prob=1.0, flip_indices=[0, 0])
    for direction in ('vertical', 'diagonal'):
        res = scene(kps, flip_indices=[0, 2, 1])
        img = res['img'].copy()
        with pytest.raises(NotImplementedError, match=f"a '{direction}' flip of keypoints"):
            KeypointRandomFlip(prob=1.0, direction=direction)(res)
        np.testing.assert_array_equal(res['img'], img)  # nothing half-flipped
        res.pop('gt_keypoints')  # without keypoints it is mmdet's flip
        out = KeypointRandomFlip(prob=1.0, direction=direction)(res)
        assert out['flip_direction'] == direction


# ---------------------------------------------------------------- packing
def test_pack_splits_keypoints_by_ignore_flags():
    kps = np.arange(18, dtype=np.float64).reshape(3, 2, 3)
    res = scene(kps, flip_indices=[1, 0], img_id=4)
    res['gt_ignore_flags'] = np.array([False, True, False])
    out = TRANSFORMS.build(dict(type='PackScaleNormInputs'))(copy.deepcopy(res))['data_samples']
    ref = PackDetInputs()(copy.deepcopy(res))['data_samples']
    gt, ign = out.gt_instances, out.ignored_instances
    assert gt.keypoints.dtype == torch.float32
    torch.testing.assert_close(gt.keypoints, torch.tensor(kps[[0, 2]], dtype=torch.float32))
    torch.testing.assert_close(ign.keypoints, torch.tensor(kps[[1]], dtype=torch.float32))
    torch.testing.assert_close(gt.bboxes.tensor, ref.gt_instances.bboxes.tensor)
    torch.testing.assert_close(gt.labels, ref.gt_instances.labels)
    assert out.metainfo['flip_indices'] == [1, 0]
    res.pop('flip_indices')
    assert 'flip_indices' not in PackScaleNormInputs()(res)['data_samples'].metainfo
    bad = scene(kps)
    bad['gt_keypoints'] = kps[:2]
    with pytest.raises(ValueError, match=r'gt_keypoints must be \(N, K, 3\) with N = 3'):
        PackScaleNormInputs()(bad)


def test_mark_valid_range_moves_people_to_ignored_with_their_keypoints():
    boxes = [[0, 0, 40, 40], [50, 50, 54, 54], [10, 60, 60, 110]]  # scales 40, 4, 50
    kps = np.array([[[5, 5, 2]], [[52, 52, 2]], [[30, 80, 1]]], np.float32)
    res = scene(kps, h=120, w=120, boxes=boxes)
    res = MarkValidRange(valid_range=(16, 560))(res)
    np.testing.assert_array_equal(res['gt_ignore_flags'], [False, True, False])
    out = PackScaleNormInputs()(res)['data_samples']
    torch.testing.assert_close(out.gt_instances.keypoints, torch.tensor(kps[[0, 2]]))
    torch.testing.assert_close(out.ignored_instances.keypoints, torch.tensor(kps[[1]]))
    torch.testing.assert_close(out.ignored_instances.bboxes.tensor,
                               torch.tensor([boxes[1]], dtype=torch.float32))


# ---------------------------------------------------------------- existing chip transforms
def test_resize_to_chip_scale_scales_keypoints():
    res = scene([[[3, 4, 2], [0, 0, 0], [19.5, 9.5, 1]]], chip_scale_factor=2.0)
    out = ResizeToChipScale()(res)
    np.testing.assert_array_equal(out['gt_keypoints'], [[[6, 8, 2], [0, 0, 0], [39, 19, 1]]])


def test_sample_chip_translates_keypoints_and_hides_outside_ones():
    res = scene([[[20, 20, 2], [80, 80, 2]]], h=100, w=100, boxes=[[10, 10, 90, 90]],
                chip=(10, 10, 50, 50))
    out = SampleChip(chip_size=64)(res)
    np.testing.assert_array_equal(out['gt_keypoints'][..., 2], [[2, 0]])
    np.testing.assert_array_equal(out['gt_keypoints'][0, 0], [10, 10, 2])


def test_sample_chip_zeroes_hidden_keypoints():
    res = scene([[[20, 20, 2], [80, 80, 2], [0, 0, 0]]], h=100, w=100, boxes=[[10, 10, 90, 90]],
                chip=(10, 10, 50, 50))
    out = SampleChip(chip_size=64)(res)
    np.testing.assert_array_equal(out['gt_keypoints'][0, 1:], np.zeros((2, 3)))


# ---------------------------------------------------------------- pixel-content property
H0, W0, CELL, N, K = 96, 120, 12, 3, 4
FLIP = [0, 2, 1, 3]


def coloured_scene(seed):
    """Each keypoint sits at the centre of its own 7x7 uniquely coloured block."""
    rng = np.random.default_rng(seed)
    cells = rng.choice((H0 // CELL) * (W0 // CELL), size=N * K, replace=False)
    img = np.zeros((H0, W0, 3), np.uint8)
    kps = np.zeros((N, K, 3), np.float32)
    colours = np.zeros((N, K, 3), np.uint8)
    for i, c in enumerate(cells):
        n, k = divmod(i, K)
        cy, cx = divmod(int(c), W0 // CELL)
        px, py = cx * CELL + CELL // 2, cy * CELL + CELL // 2
        colours[n, k] = (20 + 19 * i, 250 - 9 * i, 60 + 7 * i)
        img[py - 3:py + 4, px - 3:px + 4] = colours[n, k]
        kps[n, k] = (px + 0.5, py + 0.5, rng.choice([1, 2, 2]))
    kps[0, 3] = 0  # one not-labelled keypoint
    lab = kps[..., 2] > 0
    lo = np.array([kps[n, lab[n], :2].min(0) for n in range(N)]) - 6
    hi = np.array([kps[n, lab[n], :2].max(0) for n in range(N)]) + 6
    boxes = np.concatenate([np.maximum(lo, 0), np.minimum(hi, [W0, H0])], 1)
    res = scene(kps, h=H0, w=W0, boxes=boxes, flip_indices=FLIP, gt_instances_ids=np.arange(N))
    res['img'] = img
    return res, kps.copy(), colours


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), s=st.floats(0.5, 2.0), chip_scale=st.booleans(),
       crop=st.none() | st.tuples(st.floats(0, 0.9), st.floats(0, 0.9), st.integers(24, 160)),
       flip=st.booleans())
def test_visible_keypoints_keep_their_pixel_content(seed, s, chip_scale, crop, flip):
    res, kps0, colours = coloured_scene(seed)
    if chip_scale:  # ResizeToChipScale, chip-window path when a chip is given
        from mmdet_scalenorm.chips import resized_size
        w1, h1 = resized_size(W0, H0, s)
        res['chip_scale_factor'] = s
        resize = ResizeToChipScale(interpolation='nearest')
    else:
        resize = KeypointResize(scale_factor=s, interpolation='nearest')
        w1, h1 = int(W0 * s + 0.5), int(H0 * s + 0.5)
    x1 = y1 = 0
    if crop is not None:
        x1, y1 = int(crop[0] * w1), int(crop[1] * h1)
        res['chip'] = (x1, y1, x1 + crop[2], y1 + crop[2])
    res = resize(res)
    sx, sy = res['scale_factor']
    if crop is not None:
        res = SampleChip(chip_size=64)(res)
    if flip:
        res = KeypointRandomFlip(prob=1.0)(res)
    img, out = res['img'], res['gt_keypoints']
    h, w = img.shape[:2]
    ids = list(res['gt_instances_ids'])
    for n in range(N):
        for j in range(K):
            k = FLIP[j] if flip else j  # slot j after the flip holds original keypoint k
            x, y = kps0[n, k, 0] * sx - x1, kps0[n, k, 1] * sy - y1
            if flip:
                x = w - x
            visible = kps0[n, k, 2] > 0 and 0 <= x <= w and 0 <= y <= h
            if not visible:
                if n in ids:
                    assert out[ids.index(n), j, 2] == 0
                    np.testing.assert_array_equal(out[ids.index(n), j], 0)  # v=0 -> (0, 0)
                continue
            assert n in ids, 'an instance with a keypoint inside the crop was dropped'
            got = out[ids.index(n), j]
            assert got[2] == kps0[n, k, 2]
            np.testing.assert_allclose(got[:2], (x, y), atol=1e-3)
            col = img[min(int(np.floor(y)), h - 1), min(int(np.floor(x)), w - 1)]
            np.testing.assert_array_equal(col, colours[n, k])


# ---------------------------------------------------------------- end to end
def test_synthetic_pipeline_packs_scaled_flipped_keypoints(synthetic_tiny):
    from mmengine.registry import init_default_scope

    from mmdet_scalenorm.datasets import CocoKeypointDataset
    from mmdet_scalenorm.datasets.synthetic import SYNTHETIC_METAINFO
    init_default_scope('mmdet')
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotationsWithKeypoints'),
                dict(type='KeypointResize', scale_factor=0.5),
                dict(type='KeypointRandomFlip', prob=1.0), dict(type='PackScaleNormInputs')]
    ds = CocoKeypointDataset(ann_file=synthetic_tiny['train_ann'], metainfo=SYNTHETIC_METAINFO,
                             data_prefix=dict(img=synthetic_tiny['train_img']), pipeline=pipeline)
    info = ds.get_data_info(0)
    raw = np.stack([i['keypoints'] for i in info['instances']])
    flip = ds.metainfo['flip_indices']
    sample = ds[0]['data_samples']
    h, w = sample.img_shape
    sx, sy = sample.scale_factor
    exp = np.zeros_like(raw)
    exp[:, flip] = np.stack([w - raw[..., 0] * sx, raw[..., 1] * sy, raw[..., 2]], -1)
    exp[exp[..., 2] == 0] = 0
    kps = torch.cat([sample.gt_instances.keypoints, sample.ignored_instances.keypoints])
    assert kps.shape == (len(raw), 13, 3) and kps.dtype == torch.float32
    assert (raw[..., 2] > 0).any()
    np.testing.assert_allclose(kps.numpy(), exp, atol=1e-4)  # synthetic has no crowd: in order
    assert sample.metainfo['flip_indices'] == flip
