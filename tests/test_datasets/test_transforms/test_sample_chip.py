"""Tests of SampleChip (SNIP §6.2 chips, SNIPER negative chip mining)."""
import json
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks, PolygonMasks

import mmdet_scalenorm  # noqa: F401  (registers the transforms)
from mmdet_scalenorm.datasets.transforms import SampleChip


def rect_masks(boxes, h, w):
    masks = np.zeros((len(boxes), h, w), np.uint8)
    for i, (x1, y1, x2, y2) in enumerate(np.asarray(boxes, int)):
        masks[i, max(y1, 0):max(y2, 0), max(x1, 0):max(x2, 0)] = 1
    return BitmapMasks(masks, h, w)


def rect_polygons(boxes, h, w):
    return PolygonMasks([[np.array([x1, y1, x2, y1, x2, y2, x1, y2], dtype=np.float64)]
                         for x1, y1, x2, y2 in boxes], h, w)


def centre_keypoints(boxes):
    """(N, 2, 3): the box centre and the top-left corner, both visible (2)."""
    b = np.asarray(boxes, np.float32)
    centre = np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, np.full(len(b), 2)], 1)
    corner = np.stack([b[:, 0], b[:, 1], np.full(len(b), 2)], 1)
    return np.stack([centre, corner], 1).astype(np.float32)


def make_results(boxes, h=600, w=800, ignore=None, masks='bitmap', chip=None):
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    img = (np.arange(h * w, dtype=np.int64).reshape(h, w, 1) % 251).astype(np.uint8)
    img = np.repeat(img, 3, axis=2)
    res = dict(img=img, img_shape=(h, w), ori_shape=(h, w), scale_factor=(1.0, 1.0),
               gt_bboxes=HorizontalBoxes(boxes),
               gt_bboxes_labels=np.arange(len(boxes), dtype=np.int64),
               gt_ignore_flags=np.zeros(len(boxes), bool) if ignore is None else
               np.asarray(ignore, bool),
               gt_keypoints=centre_keypoints(boxes),
               gt_seg_map=(np.arange(h * w).reshape(h, w) % 7).astype(np.uint8))
    if masks == 'bitmap':
        res['gt_masks'] = rect_masks(boxes, h, w)
    elif masks == 'polygon':
        res['gt_masks'] = rect_polygons(boxes, h, w)
    if chip is not None:
        res['chip'] = chip
    return res


BOXES = [[150, 100, 250, 200],   # 0: fully inside the chip
         [580, 100, 700, 200],   # 1: 32/120 of it inside -> clipped, ignored
         [50, 100, 150, 200],    # 2: exactly 50% inside -> clipped, stays valid (>= min_overlap)
         [700, 0, 790, 40],      # 3: fully outside -> dropped
         [300, 300, 350, 350],   # 4: crowd inside -> stays ignored
         [40, 40, 40, 80]]       # 5: degenerate -> dropped
CHIP = (100, 50, 612, 562)


@pytest.mark.parametrize('mask_type', ['bitmap', 'polygon'])
def test_crop_given_chip_hand_computed(mask_type):
    res = make_results(BOXES, ignore=[0, 0, 0, 0, 1, 0], masks=mask_type, chip=CHIP)
    img = res['img']
    seg = res['gt_seg_map']
    out = SampleChip()(res)
    assert out['img_shape'] == (512, 512) and out['img'].shape == (512, 512, 3)
    np.testing.assert_array_equal(out['img'], img[50:562, 100:612])
    assert np.shares_memory(out['img'], img)  # a view, no copy
    np.testing.assert_array_equal(out['gt_seg_map'], seg[50:562, 100:612])
    np.testing.assert_array_equal(out['gt_bboxes'].tensor.numpy(),
                                  [[50, 50, 150, 150], [480, 50, 512, 150], [0, 50, 50, 150],
                                   [200, 250, 250, 300]])
    np.testing.assert_array_equal(out['gt_bboxes_labels'], [0, 1, 2, 4])
    np.testing.assert_array_equal(out['gt_ignore_flags'], [0, 1, 0, 1])
    np.testing.assert_array_equal(out['gt_masks'].get_bboxes('hbox').tensor.numpy(),
                                  out['gt_bboxes'].tensor.numpy())
    kps = out['gt_keypoints']
    # Centres: box 1's centre x = 640 - 100 = 540 > 512 -> invisible, stored as (0, 0, 0);
    # box 2's corner x = -50.
    np.testing.assert_array_equal(kps[:, 0], [[100, 100, 2], [0, 0, 0], [0, 100, 2],
                                              [225, 275, 2]])
    np.testing.assert_array_equal(kps[:, 1, 2], [2, 2, 0, 2])
    assert out['chip'] == (100.0, 50.0, 612.0, 562.0) and out['chip_type'] == 'pos'
    assert out['scale_factor'] == (1.0, 1.0)


def test_min_overlap_threshold_and_chip_type_from_dataset():
    res = make_results(BOXES, chip=CHIP)
    res['chip_type'] = 'neg'
    out = SampleChip(min_overlap=0.6)(res)
    np.testing.assert_array_equal(out['gt_ignore_flags'], [0, 1, 1, 0])  # box 2 (50%) now ignored
    assert out['chip_type'] == 'neg'   # as given by ChipDataset
    out = SampleChip(min_overlap=0.0)(make_results(BOXES, chip=CHIP))
    np.testing.assert_array_equal(out['gt_ignore_flags'], [0, 0, 0, 0])


def test_plain_arrays_and_homography():
    res = make_results(BOXES[:1], masks=None, chip=(100, 50, 612, 562))
    res['gt_bboxes'] = np.array(BOXES[:1], np.float32)
    res['homography_matrix'] = np.eye(3, dtype=np.float32) * 1
    out = SampleChip()(res)
    np.testing.assert_array_equal(out['gt_bboxes'], [[50, 50, 150, 150]])
    np.testing.assert_array_equal(out['homography_matrix'] @ np.array([150, 100, 1]),
                                  [50, 50, 1])


def test_small_image_not_stretched_and_chip_at_origin():
    boxes = [[10, 20, 100, 120], [200, 50, 280, 180]]
    res = make_results(boxes, h=200, w=300)
    img = res['img']
    out = SampleChip(chip_size=512, stride=32)(res)
    assert out['chip'] == (0.0, 0.0, 512.0, 512.0) and out['chip_type'] == 'pos'
    assert out['img'].shape == (200, 300, 3) and out['img_shape'] == (200, 300)
    assert np.shares_memory(out['img'], img)
    np.testing.assert_array_equal(out['gt_bboxes'].tensor.numpy(), boxes)


def test_generated_positive_chip_contains_a_valid_gt():
    boxes = [[10, 10, 50, 50], [1500, 900, 1550, 950], [700, 700, 720, 720]]
    np.random.seed(0)
    seen = set()
    t = SampleChip()
    for _ in range(20):
        out = t(make_results(boxes, h=1400, w=2000, ignore=[0, 0, 1], masks=None))
        assert out['chip_type'] == 'pos' and out['img_shape'] == (512, 512)
        b = out['gt_bboxes'].tensor.numpy()
        valid = ~out['gt_ignore_flags']
        full = (b[:, 2] - b[:, 0] == 40) | (b[:, 2] - b[:, 0] == 50)
        assert (valid & full).any()
        seen.add(out['chip'])
    assert seen == {(0.0, 0.0, 512.0, 512.0), (1056.0, 448.0, 1568.0, 960.0)}


def test_fallbacks_large_valid_gt_and_no_valid_gt():
    np.random.seed(1)
    big = [[600, 300, 1200, 900]]   # side 600 > 512 - 32: no positive chip covers it
    out = SampleChip()(make_results(big, h=1400, w=2000, masks=None))
    assert out['chip_type'] == 'pos'
    x1, y1, x2, y2 = out['chip']
    assert (x1, y1) == (644.0, 344.0)  # centred on the box centre (900, 600)
    out = SampleChip()(make_results(big, h=1400, w=2000, ignore=[1], masks=None))
    assert out['chip_type'] == 'neg' and out['img_shape'] == (512, 512)
    x1, y1 = out['chip'][:2]
    assert x1 % 32 == 0 or x1 == 2000 - 512
    assert y1 % 32 == 0 or y1 == 1400 - 512


def _neg_scene(tmp_path, fmt):
    table = {'img1.jpg': [[1200, 700, 1260, 760, 0.9], [1300, 800, 1350, 880, 0.8],
                          [20, 20, 60, 60, 0.5]]}   # the last one is inside the positive chip
    path = tmp_path / f'props.{fmt}'
    if fmt == 'json':
        path.write_text(json.dumps(table))
    else:
        path.write_bytes(pickle.dumps({k: np.array(v) for k, v in table.items()}))
    return str(path)


@pytest.mark.parametrize('fmt', ['json', 'pkl'])
def test_negative_chips_from_proposals_file(tmp_path, fmt):
    path = _neg_scene(tmp_path, fmt)
    t = SampleChip(proposals_file=path, neg_prob=1.0)
    res = make_results([[10, 10, 50, 50]], h=1400, w=2000, masks=None)
    res['img_path'] = '/data/train/img1.jpg'
    out = t(res)
    assert out['chip_type'] == 'neg'
    x1, y1, x2, y2 = out['chip']
    for p in ([1200, 700, 1260, 760], [1300, 800, 1350, 880]):
        assert x1 <= p[0] and y1 <= p[1] and p[2] <= x2 and p[3] <= y2
    assert len(out['gt_bboxes']) == 0
    # At scale factor 0.5 the proposals are halved, and the valid range filters them.
    res = make_results([[10, 10, 50, 50]], h=700, w=1000, masks=None)
    res.update(img_path='img1.jpg', scale_factor=(0.5, 0.5), valid_range=(35.0, 100.0))
    out = t(res)  # proposals have scales 30, ~31.6 and 20 after halving: none in range (GT: 40)
    assert out['chip_type'] == 'pos'
    res = make_results([[10, 10, 50, 50]], h=700, w=1000, masks=None)
    res.update(img_path='img1.jpg', scale_factor=(0.5, 0.5), valid_range=(0.0, 100.0))
    out = t(res)
    assert out['chip_type'] == 'neg'
    x1, y1, x2, y2 = out['chip']
    assert x1 <= 600 and y1 <= 350 and 675 <= x2 and 440 <= y2
    # neg_chips_per_image=0 disables negative chips.
    res = make_results([[10, 10, 50, 50]], h=1400, w=2000, masks=None)
    res['img_path'] = 'img1.jpg'
    out = SampleChip(proposals_file=path, neg_chips_per_image=0, neg_prob=1.0)(res)
    assert out['chip_type'] == 'pos'


def test_default_neg_mix_is_uniform_over_pos_and_drawn_neg(tmp_path):
    path = _neg_scene(tmp_path, 'json')
    t = SampleChip(proposals_file=path)  # 1 positive + 1 negative chip -> about half each
    np.random.seed(0)
    types = []
    for _ in range(60):
        res = make_results([[10, 10, 50, 50]], h=1400, w=2000, masks=None)
        res['img_id'] = 5
        res['img_path'] = 'x/img1.jpg'
        types.append(t(res)['chip_type'])
    assert 15 < types.count('neg') < 45


@pytest.mark.parametrize('kwargs,key', [
    (dict(chip_size=0), 'chip_size'), (dict(chip_size=512.5), 'chip_size'),
    (dict(stride=0), 'stride'), (dict(stride=512), 'stride'),
    (dict(min_overlap=1.5), 'min_overlap'), (dict(min_overlap=-0.1), 'min_overlap'),
    (dict(neg_chips_per_image=-1), 'neg_chips_per_image'),
    (dict(proposals_file='/no/such/file.pkl'), 'proposals_file'),
    (dict(neg_prob=2.0), 'neg_prob'),
])
def test_bad_config_raises_value_error_naming_the_key(kwargs, key):
    with pytest.raises(ValueError, match=key):
        SampleChip(**kwargs)
    with pytest.raises(ValueError, match=key):
        TRANSFORMS.build(dict(type='SampleChip', **kwargs))


def test_chip_outside_the_image_is_a_clear_error():
    with pytest.raises(ValueError, match='does not overlap'):
        SampleChip()(make_results(BOXES, chip=(900, 0, 1412, 512)))


# ------------------------------------------------------------------ property: alignment
@st.composite
def crop_scenes(draw):
    h = draw(st.integers(32, 300))
    w = draw(st.integers(32, 300))
    n = draw(st.integers(0, 6))
    boxes = []
    for _ in range(n):
        x1 = draw(st.integers(0, w - 2))
        y1 = draw(st.integers(0, h - 2))
        x2 = draw(st.integers(x1 + 1, w))
        y2 = draw(st.integers(y1 + 1, h))
        boxes.append([x1, y1, x2, y2])
    chip = draw(st.sampled_from([64, 128]))
    cx = draw(st.integers(0, w - 1))
    cy = draw(st.integers(0, h - 1))
    mask_type = draw(st.sampled_from(['bitmap', 'polygon']))
    return boxes, h, w, (cx, cy, cx + chip, cy + chip), mask_type


@settings(max_examples=40, deadline=None)
@given(crop_scenes())
def test_property_boxes_masks_keypoints_stay_aligned(scene):
    boxes, h, w, chip, mask_type = scene
    res = make_results(boxes, h=h, w=w, masks=mask_type, chip=chip)
    out = SampleChip(chip_size=chip[2] - chip[0], stride=16)(res)
    ch, cw = out['img'].shape[:2]
    assert (ch, cw) == out['img_shape'] == (min(chip[3], h) - chip[1], min(chip[2], w) - chip[0])
    b = out['gt_bboxes'].tensor.numpy()
    n = len(b)
    assert len(out['gt_masks']) == len(out['gt_keypoints']) == len(out['gt_bboxes_labels']) == \
        len(out['gt_ignore_flags']) == n
    assert (b[:, 2] > b[:, 0]).all() and (b[:, 3] > b[:, 1]).all()
    assert (b[:, :2] >= 0).all() and (b[:, 2] <= cw).all() and (b[:, 3] <= ch).all()
    # Each mask's bbox is the cropped box.
    np.testing.assert_array_equal(out['gt_masks'].get_bboxes('hbox').tensor.numpy(), b)
    assert (out['gt_masks'].height, out['gt_masks'].width) == (ch, cw)
    # Keypoints are translated with the boxes; visible ones lie inside their (clipped) box.
    src = np.asarray(boxes, np.float32).reshape(-1, 4)[out['gt_bboxes_labels']]
    kps = out['gt_keypoints']
    cx = (src[:, 0] + src[:, 2]) / 2 - chip[0]
    cy = (src[:, 1] + src[:, 3]) / 2 - chip[1]
    inside = (cx >= 0) & (cx <= cw) & (cy >= 0) & (cy <= ch)
    np.testing.assert_allclose(kps[:, 0, 0], np.where(inside, cx, 0))  # outside: (0, 0, 0)
    np.testing.assert_array_equal(kps[~inside, 0], 0)
    vis = kps[..., 2] > 0
    for i, k in zip(*np.nonzero(vis)):
        x, y = kps[i, k, :2]
        assert b[i, 0] <= x <= b[i, 2] and b[i, 1] <= y <= b[i, 3]
    # Dropped GT had no area inside the chip.
    dropped = np.setdiff1d(np.arange(len(boxes)), out['gt_bboxes_labels'])
    for i in dropped:
        x1, y1, x2, y2 = boxes[i]
        assert min(x2, chip[2]) <= max(x1, chip[0]) or min(y2, chip[3]) <= max(y1, chip[1])


def test_isn_pipeline_resize_mark_chip_flip_pack():
    from mmcv.transforms import Compose
    pipe = Compose([TRANSFORMS.build(t) for t in [
        dict(type='Resize', scale_factor=2.0, keep_ratio=True),            # 400x300 -> 800x600
        dict(type='MarkValidRange', valid_range=(16, 560)),
        dict(type='SampleChip', chip_size=512, stride=32),
        dict(type='RandomFlip', prob=1.0),
        dict(type='PackDetInputs', meta_keys=('img_shape', 'scale_factor', 'flip', 'valid_range',
                                              'valid_range_info', 'chip', 'chip_type')),
    ]])
    # Resized (x2) boxes: [20, 20, 60, 60] valid; [200, 200, 204, 204] scale 4, too small;
    # [600, 400, 700, 500] valid.  Boxes 0 and 2 cannot share a 512 chip, so the greedy cover is
    # (0, 0, 512, 512) then (192, 0, 704, 512) (first grid x0 >= 700 - 512); both hold box 1.
    boxes = [[10, 10, 30, 30], [100, 100, 102, 102], [300, 200, 350, 250]]
    seen = set()
    for seed in range(6):
        np.random.seed(seed)
        ds = pipe(make_results(boxes, h=300, w=400))['data_samples']
        chip = ds.metainfo['chip']
        seen.add(chip)
        assert ds.metainfo['img_shape'] == (512, 512) and ds.metainfo['flip']
        assert ds.metainfo['chip_type'] == 'pos' and ds.metainfo['valid_range'] == (16.0, 560.0)
        assert ds.ignored_instances.labels.tolist() == [1]
        expected = [0] if chip == (0.0, 0.0, 512.0, 512.0) else [2]
        assert ds.gt_instances.labels.tolist() == expected
        # Horizontal flip of a 512-wide chip: box 0 [20, 60] -> [452, 492]; box 2 [408, 508] ->
        # [4, 104].
        exp_box = [[452, 20, 492, 60]] if expected == [0] else [[4, 400, 104, 500]]
        np.testing.assert_array_equal(ds.gt_instances.bboxes.tensor.numpy(), exp_box)
        np.testing.assert_array_equal(ds.gt_instances.masks.get_bboxes('hbox').tensor.numpy(),
                                      exp_box)   # masks follow boxes through crop and flip
    assert seen == {(0.0, 0.0, 512.0, 512.0), (192.0, 0.0, 704.0, 512.0)}


def test_isn_chip_covers_a_box_above_chip_minus_stride():
    """ISN chips (576, stride 32): a valid 570x300 GT (scale 413.5, in [16, 560]) no grid window
    holds gets the chip snapped to it, x0 = 120, and comes out whole and valid."""
    np.random.seed(0)
    res = make_results([[120, 300, 690, 600]], h=1000, w=2000, masks=None)
    res['valid_range'] = (16.0, 560.0)
    out = SampleChip(chip_size=576, stride=32)(res)
    assert out['chip'] == (120.0, 32.0, 696.0, 608.0) and out['chip_type'] == 'pos'
    np.testing.assert_array_equal(out['gt_bboxes'].tensor.numpy(), [[0, 268, 570, 568]])
    assert not out['gt_ignore_flags'].any()


def test_valid_gt_uses_the_valid_range_rule():
    """Without MarkValidRange's flags, results['valid_range'] still decides (valid_gt_mask): a GT
    outside it gets no positive chip."""
    t = SampleChip()
    res = make_results([[10, 10, 20, 20], [1500, 900, 1550, 950]], h=1400, w=2000, masks=None)
    res['valid_range'] = (16.0, 560.0)   # the 10x10 box (scale 10) is out of range
    np.testing.assert_array_equal(t._valid_gt(res), [[1500, 900, 1550, 950]])
    np.random.seed(0)
    assert {SampleChip()(make_results([[10, 10, 20, 20], [1500, 900, 1550, 950]], h=1400, w=2000,
                                      masks=None) | dict(valid_range=(16.0, 560.0)))['chip']
            for _ in range(5)} == {(1056.0, 448.0, 1568.0, 960.0)}


def test_missing_proposals_entry_is_a_clear_error(tmp_path):
    path = _neg_scene(tmp_path, 'json')
    res = make_results([[10, 10, 50, 50]], h=1400, w=2000, masks=None)
    res.update(img_path='/data/other.jpg', img_id=42)
    with pytest.raises(ValueError, match=r"props\.json'?: no proposals entry for image img_id=42"):
        SampleChip(proposals_file=path)(res)


def test_negative_pool_is_the_one_rule_of_chips(tmp_path):
    """SampleChip.negative_chips is chips.negative_chip_pool with the results' scale factor and
    valid range (the function ChipDataset enumerates with)."""
    from mmdet_scalenorm.chips import lookup_proposals, load_proposals, negative_chip_pool
    path = _neg_scene(tmp_path, 'pkl')
    t = SampleChip(proposals_file=path)
    res = make_results([[10, 10, 50, 50]], h=700, w=1000, masks=None)
    res.update(img_path='img1.jpg', scale_factor=(0.5, 0.5), valid_range=(16.0, 560.0))
    pos = np.array([[0, 0, 512, 512]], np.float64)
    ours = t.negative_chips(res, pos, 1000, 700)
    props = lookup_proposals(load_proposals(path), 'img1.jpg')
    np.testing.assert_array_equal(
        ours, negative_chip_pool(props, (0.5, 0.5), (16.0, 560.0), pos, 1000, 700, 512, 32))
    # [600, 350, 630, 380] and [650, 400, 675, 440] (halved) in one chip; [10, 10, 30, 30] lies in
    # the positive chip.  First window holding both: x0 >= 675 - 512 -> 192, y0 = 0.
    np.testing.assert_array_equal(ours, [[192, 0, 704, 512]])
