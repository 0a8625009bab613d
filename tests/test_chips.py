"""Tests of mmdet_scalenorm.chips: the SNIPER greedy chip cover (SNIP §6.2), negative chip mining,
the per-image enumeration and proposals files."""
import json
import math
import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmdet_scalenorm.chips import (candidate_starts, check_proposals_cover,
                                   enumerate_image_chips, generate_chips, generate_negative_chips,
                                   load_proposals, lookup_proposals, negative_chip_pool,
                                   resize_boxes)


# ------------------------------------------------------------------ oracle: plain loop greedy
def loop_candidates(los, his, extent, chip, stride):
    """Candidate starts along one axis, with loops: grid + border, plus ``min(floor(lo), P -
    chip)`` for each box no grid window holds (its far end trimmed when no integer start holds
    it)."""
    pad = max(extent, chip)
    grid = list(range(0, int(pad - chip) + 1, stride))
    if grid[-1] != pad - chip:
        grid.append(pad - chip)
    starts, new_his = list(grid), []
    for lo, hi in zip(los, his):
        if any(s <= lo and hi <= s + chip for s in grid):
            new_his.append(hi)
            continue
        s = min(math.floor(lo), pad - chip)
        starts.append(s)
        new_his.append(min(hi, s + chip))
    return sorted(set(starts)), new_his


def reference_greedy(boxes, img_w, img_h, chip, stride):
    """Explicit-loop greedy cover over the same candidate windows (the oracle / baseline)."""
    todo = []
    for b in boxes:
        x1, y1 = min(max(b[0], 0), img_w), min(max(b[1], 0), img_h)
        x2, y2 = min(max(b[2], 0), img_w), min(max(b[3], 0), img_h)
        if not all(np.isfinite(b[:4])):
            continue
        if x2 - x1 <= 0 or y2 - y1 <= 0 or x2 - x1 > chip or y2 - y1 > chip:
            continue
        todo.append([x1, y1, x2, y2])
    xs, x2s = loop_candidates([b[0] for b in todo], [b[2] for b in todo], img_w, chip, stride)
    ys, y2s = loop_candidates([b[1] for b in todo], [b[3] for b in todo], img_h, chip, stride)
    todo = [(b[0], b[1], x2, y2) for b, x2, y2 in zip(todo, x2s, y2s)]
    chips = []
    while todo:
        best, best_n = None, 0
        for x in xs:
            for y in ys:
                n = sum(1 for b in todo
                        if x <= b[0] and y <= b[1] and b[2] <= x + chip and b[3] <= y + chip)
                if n > best_n:
                    best, best_n = (x, y), n
        x, y = best
        chips.append([x, y, x + chip, y + chip])
        todo = [b for b in todo
                if not (x <= b[0] and y <= b[1] and b[2] <= x + chip and b[3] <= y + chip)]
    return np.array(chips, dtype=np.float64).reshape(-1, 4)


def contains(chips, boxes):
    """(N, M) bool: box i fully inside chip j."""
    b, c = boxes[:, None, :], chips[None, :, :]
    return (c[..., 0] <= b[..., 0]) & (c[..., 1] <= b[..., 1]) & (b[..., 2] <= c[..., 2]) & \
        (b[..., 3] <= c[..., 3])


# ------------------------------------------------------------------ hand-computed cases
def test_candidate_starts_grid_plus_border():
    np.testing.assert_array_equal(candidate_starts(600, 512, 32), [0, 32, 64, 88])
    np.testing.assert_array_equal(candidate_starts(576, 512, 32), [0, 32, 64])
    np.testing.assert_array_equal(candidate_starts(512, 512, 32), [0])
    np.testing.assert_array_equal(candidate_starts(300, 512, 32), [0])  # smaller than the chip


def test_two_far_clusters_need_two_chips():
    boxes = np.array([[10, 10, 50, 50], [100, 100, 150, 160],    # top-left cluster
                      [1500, 900, 1550, 950]], dtype=np.float32)  # bottom-right
    chips = generate_chips(boxes, 2000, 1400, 512, 32)
    assert chips.dtype == np.float32 and chips.shape == (2, 4)
    # First chip covers the 2-box cluster at the first (x-major) best window: (0, 0).
    np.testing.assert_array_equal(chips[0], [0, 0, 512, 512])
    # Second: first window containing (1500, 900, 1550, 950): x0 = 1056 (33*32), y0 = 448.
    np.testing.assert_array_equal(chips[1], [1056, 448, 1568, 960])
    assert contains(chips, boxes).any(axis=1).all()


def test_small_image_gets_one_chip_at_origin():
    boxes = np.array([[10, 20, 200, 150], [250, 100, 300, 190]])
    chips = generate_chips(boxes, 320, 200, 512, 32)
    np.testing.assert_array_equal(chips, [[0, 0, 512, 512]])


def test_small_in_one_dimension_only():
    boxes = np.array([[900, 10, 950, 60]])
    chips = generate_chips(boxes, 1000, 300, 512, 32)
    assert chips[0, 1] == 0 and chips[0, 3] == 512  # y at 0: image shorter than the chip
    assert chips[0, 0] <= 900 and chips[0, 2] >= 950 and chips[0, 2] <= 1000


def test_large_degenerate_nan_and_outside_boxes_are_ignored():
    boxes = np.array([
        [0, 0, 513, 100],          # side 513 > 512: fits no chip, left to coarser scales
        [10, 10, 10, 50],          # zero width
        [30, 30, 20, 40],          # negative width
        [np.nan, 0, 10, 10],       # NaN
        [0, 0, np.inf, 10],        # infinite (clipping would make it finite)
        [3000, 3000, 3100, 3100],  # fully outside the 2000x1400 image
    ])
    assert generate_chips(boxes, 2000, 1400, 512, 32).shape == (0, 4)
    # Side exactly chip_size is covered, by the window snapped to it.
    chips = generate_chips(np.array([[17, 5, 529, 485]]), 2000, 1400, 512, 32)
    np.testing.assert_array_equal(chips, [[17, 0, 529, 512]])


def test_box_between_chip_minus_stride_and_chip_is_covered():
    """A 570x300 box (ISN: chip 576, stride 32) no grid window holds: x1 = 120 is 24 px past the
    grid line 96 and 96 + 576 < 690.  The candidate snapped to it, x0 = 120, covers it (the old
    rule left every box with a side above chip - stride = 544 out)."""
    box = np.array([[120, 300, 690, 600]], dtype=np.float32)
    chips = generate_chips(box, 2000, 1000, 576, 32)
    np.testing.assert_array_equal(chips, [[120, 32, 696, 608]])  # y: first grid start <= 300
    # Snapped to the border: x1 past W - chip.
    chips = generate_chips(np.array([[1500, 10, 1990, 560]]), 2000, 1000, 576, 32)
    np.testing.assert_array_equal(chips, [[1424, 0, 2000, 576]])
    # Fractional ends: [0.5, 576.3] holds 575.8 px but no integer window; floor(x1) = 0 is used
    # and the cover holds all but the last 0.3 px; [0.5, 576] fits the integer window at 0.
    chips = generate_chips(np.array([[0.5, 0, 576.3, 10], [900.5, 0, 1476.0, 10]]), 2000, 1000,
                           576, 32, prune=False)
    np.testing.assert_array_equal(chips, [[0, 0, 576, 576], [900, 0, 1476, 576]])


def test_box_crossing_the_border_is_covered_by_its_visible_part():
    boxes = np.array([[1950, 1350, 2100, 1500]])  # extends past the 2000x1400 image
    chips = generate_chips(boxes, 2000, 1400, 512, 32)
    np.testing.assert_array_equal(chips, [[1488, 888, 2000, 1400]])  # snapped to the border


def test_empty_and_torch_in_torch_out():
    assert generate_chips(np.zeros((0, 4)), 800, 600, 512).shape == (0, 4)
    t = torch.tensor([[10., 10., 60., 60.]], dtype=torch.float64)
    out = generate_chips(t, 800, 600, 512, 32)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
    np.testing.assert_array_equal(out.numpy(), [[0, 0, 512, 512]])


@pytest.mark.parametrize('kwargs,key', [
    (dict(chip_size=0), 'chip_size'), (dict(chip_size=-512), 'chip_size'),
    (dict(stride=0), 'stride'), (dict(stride=512), 'stride'), (dict(stride=600), 'stride'),
    (dict(img_w=0), 'img_w'), (dict(img_h=float('nan')), 'img_h'),
])
def test_bad_arguments_raise_value_error_naming_the_key(kwargs, key):
    args = dict(boxes=np.zeros((1, 4)), img_w=800, img_h=600, chip_size=512, stride=32)
    args.update(kwargs)
    with pytest.raises(ValueError, match=key):
        generate_chips(**args)
    with pytest.raises(ValueError, match='boxes'):
        generate_chips(np.zeros((3, 3)), 800, 600, 512)


def test_pruning_removes_the_chip_made_redundant_by_later_ones():
    # Greedy first takes x0=224 (4 middle boxes), then needs x0=0 for `a` and x0=512 for `b`; those
    # two contain the middle boxes too, so pruning drops the first chip.
    boxes = np.array([[10, 0, 60, 100], [300, 0, 350, 100], [360, 0, 410, 100],
                      [600, 0, 650, 100], [660, 0, 710, 100], [960, 0, 1010, 100]],
                     dtype=np.float64)
    plain = generate_chips(boxes, 1024, 512, 512, 32, prune=False)
    np.testing.assert_array_equal(plain, [[224, 0, 736, 512], [0, 0, 512, 512],
                                          [512, 0, 1024, 512]])
    np.testing.assert_array_equal(plain, reference_greedy(boxes, 1024, 512, 512, 32))
    pruned = generate_chips(boxes, 1024, 512, 512, 32)
    np.testing.assert_array_equal(pruned, [[0, 0, 512, 512], [512, 0, 1024, 512]])
    assert contains(pruned, boxes).any(axis=1).all()


# ------------------------------------------------------------------ properties
@st.composite
def scenes(draw):
    img_w = draw(st.integers(64, 1600))
    img_h = draw(st.integers(64, 1200))
    chip = draw(st.sampled_from([128, 256, 512]))
    stride = draw(st.sampled_from([16, 32, 48]))
    n = draw(st.integers(0, 12))
    boxes = []
    for _ in range(n):
        x1 = draw(st.floats(0, img_w - 1, allow_nan=False))
        y1 = draw(st.floats(0, img_h - 1, allow_nan=False))
        w = draw(st.floats(0.5, chip, allow_nan=False))
        h = draw(st.floats(0.5, chip, allow_nan=False))
        boxes.append([x1, y1, min(x1 + w, img_w), min(y1 + h, img_h)])
    return np.array(boxes, dtype=np.float64).reshape(-1, 4), img_w, img_h, chip, stride


@settings(max_examples=60, deadline=None)
@given(scenes())
def test_property_cover_complete_inside_padded_image_and_not_above_greedy(scene):
    boxes, img_w, img_h, chip, stride = scene
    chips = generate_chips(boxes, img_w, img_h, chip, stride)
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    must = (w > 0) & (h > 0) & (w <= chip) & (h <= chip) & \
        (np.ceil(boxes[:, 2]) - np.floor(boxes[:, 0]) <= chip) & \
        (np.ceil(boxes[:, 3]) - np.floor(boxes[:, 1]) <= chip)
    if must.any():
        assert contains(chips, boxes[must]).any(axis=1).all()
    pad_w, pad_h = max(img_w, chip), max(img_h, chip)
    assert (chips[:, 0] >= 0).all() and (chips[:, 1] >= 0).all()
    assert (chips[:, 2] <= pad_w).all() and (chips[:, 3] <= pad_h).all()
    np.testing.assert_array_equal(chips[:, 2] - chips[:, 0], chip)
    np.testing.assert_array_equal(chips[:, 3] - chips[:, 1], chip)
    oracle = reference_greedy(boxes, img_w, img_h, chip, stride)
    assert len(chips) <= len(oracle)
    # Without pruning the vectorised greedy is exactly the loop greedy (same ties).
    np.testing.assert_array_equal(generate_chips(boxes, img_w, img_h, chip, stride, prune=False),
                                  oracle)


# ------------------------------------------------------------------ negative chips
def test_negative_chips_cover_only_uncovered_proposals():
    pos = np.array([[0, 0, 512, 512]], dtype=np.float64)
    props = np.array([[10, 10, 60, 60, 0.9],          # inside the positive chip: dropped
                      [1200, 700, 1260, 760, 0.8],    # uncovered
                      [1300, 800, 1350, 880, 0.7]])   # uncovered, same neighbourhood
    neg = generate_negative_chips(props, pos, 2000, 1400, 512, 32)
    assert neg.shape == (1, 4)
    assert contains(neg, props[1:, :4]).all()
    assert not contains(neg, props[:1, :4]).any()
    # min_proposals: a window must hold at least that many uncovered proposals.
    assert generate_negative_chips(props, pos, 2000, 1400, 512, 32, min_proposals=3).shape == (0, 4)
    # No positive chips: every coverable proposal is covered.
    neg_all = generate_negative_chips(props, np.zeros((0, 4)), 2000, 1400, 512, 32)
    assert contains(neg_all, props[:, :4]).any(axis=1).all()
    with pytest.raises(ValueError, match='min_proposals'):
        generate_negative_chips(props, pos, 2000, 1400, 512, 32, min_proposals=0)


def test_proposals_file_roundtrip_json_and_pickle(tmp_path):
    table = {'a.jpg': [[1, 2, 30, 40, 0.5]], '7': [[5, 5, 9, 9]]}
    jpath = tmp_path / 'p.json'
    jpath.write_text(json.dumps(table))
    loaded = load_proposals(str(jpath))
    np.testing.assert_array_equal(lookup_proposals(loaded, '/x/train/a.jpg'), [[1, 2, 30, 40]])
    np.testing.assert_array_equal(lookup_proposals(loaded, None, 7), [[5, 5, 9, 9]])
    with pytest.raises(ValueError, match=r"p\.json: no proposals entry for image img_id=3"):
        lookup_proposals(loaded, '/x/b.jpg', 3, source=str(jpath))
    ppath = tmp_path / 'p.pkl'
    ppath.write_bytes(pickle.dumps({'train/a.jpg': dict(bboxes=np.array([[1., 1., 4., 4.]]))}))
    np.testing.assert_array_equal(lookup_proposals(load_proposals(str(ppath)), 'd/train/a.jpg'),
                                  [[1, 1, 4, 4]])
    with pytest.raises(ValueError, match='proposals_file'):
        load_proposals(str(tmp_path / 'missing.pkl'))
    # Zero proposals (an empty entry) is fine; a 5th score column is dropped.
    assert lookup_proposals({'e.jpg': []}, 'e.jpg').shape == (0, 4)
    np.testing.assert_array_equal(
        lookup_proposals({3: np.array([[1., 2., 3., 4., 0.9]])}, None, 3), [[1, 2, 3, 4]])


def test_check_proposals_cover_names_missing_images_and_file():
    table = {'a.jpg': [[1, 1, 5, 5]], 'b.jpg': [], 7: []}
    check_proposals_cover(table, [('/d/a.jpg', 1), ('/d/b.jpg', 2), ('/d/c.jpg', 7)], 'p.pkl')
    images = [('/d/a.jpg', 1)] + [(f'/d/x{i}.jpg', 100 + i) for i in range(12)]
    with pytest.raises(ValueError, match='p.pkl') as e:
        check_proposals_cover(table, images, 'p.pkl')
    msg = str(e.value)
    assert 'no entry for 12 of the 13 images' in msg
    assert all(repr(100 + i) in msg for i in range(10)) and '110' not in msg and '+2 more' in msg
    with pytest.raises(ValueError, match=r"p.pkl: none of its 3 entries .* matches an image"):
        check_proposals_cover(table, [('/d/z.jpg', 50)], 'p.pkl')


# ------------------------------------------------------------------ coverage after rounding
@st.composite
def large_box_scenes(draw):
    """Images at least one chip large, boxes with sides up to chip_size (many near the limit)."""
    chip = draw(st.sampled_from([128, 512, 576]))
    stride = draw(st.sampled_from([16, 32]))
    img_w = draw(st.integers(chip, 2000))
    img_h = draw(st.integers(chip, 1200))
    boxes = []
    for _ in range(draw(st.integers(1, 10))):
        integral = draw(st.booleans())
        side = st.integers(1, chip) if integral else st.floats(0.5, chip, allow_nan=False)
        w, h = float(draw(side)), float(draw(side))
        x1 = draw(st.floats(0, img_w - w, allow_nan=False))
        y1 = draw(st.floats(0, img_h - h, allow_nan=False))
        if integral:
            x1, y1 = float(math.floor(x1)), float(math.floor(y1))
        boxes.append([x1, y1, x1 + w, y1 + h])
    return np.array(boxes, dtype=np.float64), img_w, img_h, chip, stride


@settings(max_examples=80, deadline=None)
@given(large_box_scenes())
def test_property_every_box_up_to_chip_size_inside_a_rounded_chip(scene):
    """Every box with sides <= chip_size lies inside a chip after SampleChip's np.round (exactly
    when an integer window can hold it, else up to the last fraction of a pixel); chips are
    integer, inside the padded image, and never more than the loop greedy's."""
    boxes, img_w, img_h, chip, stride = scene
    chips = generate_chips(boxes, img_w, img_h, chip, stride)
    rounded = np.round(chips).astype(np.int64)
    np.testing.assert_array_equal(rounded, chips)  # integer starts: the rounding is a no-op
    assert (rounded[:, :2] >= 0).all() and (rounded[:, 2] <= img_w).all() and \
        (rounded[:, 3] <= img_h).all()
    fits = ((np.ceil(boxes[:, 2:]) - np.floor(boxes[:, :2])) <= chip).all(axis=1)
    assert contains(rounded, boxes[fits]).any(axis=1).all()
    loose = rounded + np.array([0, 0, 1, 1])  # less than a pixel short at the far end
    assert contains(loose, boxes).any(axis=1).all()
    assert len(chips) <= len(reference_greedy(boxes, img_w, img_h, chip, stride))


# ------------------------------------------------------------------ negative pool, enumeration
def test_negative_chip_pool_scales_clips_filters_then_covers():
    pos = np.array([[0, 0, 128, 128]], dtype=np.float64)
    props = np.array([[10, 10, 40, 40, 0.9],     # x0.5 -> 15x15, inside pos: dropped
                      [400, 300, 440, 340, 0.8],  # x0.5 -> 20x20 at (200, 150): mined
                      [600, 20, 604, 24, 0.7],    # x0.5 -> 2x2: scale 2 < 16, dropped
                      [900, 100, 1100, 140, 0.6]])  # x0.5 -> [450, 50, 550, 70], clipped at 500
    neg = negative_chip_pool(props, (0.5, 0.5), (16, 560), pos, 500, 300, 128, 32)
    # Kept: [200, 150, 220, 170] and [450, 50, 500, 70] (clipped, scale sqrt(50*20) = 31.6); the
    # first windows holding them: x0 >= 220 - 128 -> 96, y0 >= 170 - 128 -> 64; the border start
    # 500 - 128 = 372 and y0 = 0.
    np.testing.assert_array_equal(neg, [[96, 64, 224, 192], [372, 0, 500, 128]])
    assert neg.dtype == np.float64
    # The same pool from an (0,)-sized entry and from a tensor; a range that keeps nothing.
    assert negative_chip_pool(np.zeros((0, 5)), (2, 2), (0, np.inf), pos, 50, 50, 128,
                              32).shape == (0, 4)
    assert negative_chip_pool(torch.as_tensor(props), 0.5, (100, 560), pos, 500, 300, 128,
                              32).shape == (0, 4)


def test_resize_boxes_float32_like_mmdet_resize():
    """resize_boxes is bit for bit LoadAnnotations' float32 boxes through mmdet's Resize."""
    from mmdet.datasets.transforms import Resize
    from mmdet.structures.bbox import HorizontalBoxes
    rng = np.random.default_rng(3)
    w, h = 517, 389
    a, b = rng.uniform(-20, 540, (50, 2)), rng.uniform(-20, 540, (50, 2))
    boxes = np.concatenate([np.minimum(a, b), np.maximum(a, b)], axis=1)  # some cross the border
    for f in (4, 1.5, 0.37, 0.25):
        ours, (ws, hs), (sx, sy) = resize_boxes(boxes, w, h, f)
        res = Resize(scale=(ws, hs), keep_ratio=False)(dict(
            img=np.zeros((h, w, 3), np.uint8),
            gt_bboxes=HorizontalBoxes(boxes.tolist(), dtype=torch.float32)))
        assert ours.dtype == np.float32 and res['scale_factor'] == (sx, sy)
        np.testing.assert_array_equal(ours, res['gt_bboxes'].tensor.numpy())


def test_enumerate_image_chips_hand_computed():
    # 300x200 image; GT 10x10 at (20, 20), 100x80 at (150, 60), crowd 40x40.
    boxes = np.array([[20, 20, 30, 30], [150, 60, 250, 140], [0, 0, 40, 40]], np.float64)
    ignore = np.array([False, False, True])
    pos, neg = enumerate_image_chips(boxes, ignore, 300, 200, (2, 1, 0.25), [(16, 560)] * 3,
                                     'resized', 128, 32)
    assert neg == [] and [k for k, _ in pos] == [0, 1, 2]
    # f=2 (600x400): [40, 40, 60, 60] and [300, 120, 500, 280] (200x160: side > 128, left out).
    np.testing.assert_array_equal(pos[0][1], [[0, 0, 128, 128]])
    # f=1: only the 100x80 box is valid (the 10x10 has scale 10 < 16): grid x0 = 128, y0 = 32.
    np.testing.assert_array_equal(pos[1][1], [[128, 32, 256, 160]])
    # f=0.25 (75x50): the 100x80 box is [37.5, 15, 62.5, 35], scale 22.4: valid, chip at the origin
    # (the image is smaller than the chip).
    np.testing.assert_array_equal(pos[2][1], [[0, 0, 128, 128]])
    # SNIP ranges in original pixels: (0, 12) at f=2 -> (0, 24) resized keeps only the 20x20 box;
    # (50, inf) at f=1 keeps the 100x80 box (scale 89.4); at f=0.25 -> (25, inf): none valid, and
    # keep_empty gives the centred chip; proposals make a negative pool at f=1 only.
    props = np.array([[200, 150, 230, 180, 0.5], [10, 150, 40, 190, 0.4]])
    pos, neg = enumerate_image_chips(boxes, ignore, 300, 200, (2, 1, 0.25),
                                     [(0, 12), (50, np.inf), (100, np.inf)], 'original', 128, 32,
                                     proposals=props, keep_empty=True)
    assert [k for k, _ in pos] == [0, 1, 2]
    np.testing.assert_array_equal(pos[0][1], [[0, 0, 128, 128]])
    np.testing.assert_array_equal(pos[1][1], [[128, 32, 256, 160]])
    np.testing.assert_array_equal(pos[2][1], [[0, 0, 128, 128]])  # centred chip of 75x50
    # f=1: proposals 30x30 (scale 30 < 50) and 30x40 (34.6 < 50) are out of range; f=2: (0, 24)
    # keeps none of the 60x60 / 60x80 ones.  A wider range mines them.
    assert neg == []
    _, neg = enumerate_image_chips(boxes, ignore, 300, 200, (1, ), [(16, 560)], 'resized', 128,
                                   32, proposals=props)
    assert [k for k, _ in neg] == [0]
    assert contains(neg[0][1], props[:, :4]).any(axis=1).all()
