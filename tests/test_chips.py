"""Tests of mmdet_scalenorm.chips: the SNIPER greedy chip cover (SNIP §6.2)."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmdet_scalenorm.chips import (candidate_starts, generate_chips, generate_negative_chips,
                                   load_proposals, lookup_proposals)


# ------------------------------------------------------------------ oracle: plain loop greedy
def reference_greedy(boxes, img_w, img_h, chip, stride):
    """Explicit-loop greedy cover over the same candidate windows (the oracle / baseline)."""
    pad_w, pad_h = max(img_w, chip), max(img_h, chip)
    xs = list(range(0, int(pad_w - chip) + 1, stride))
    if xs[-1] != pad_w - chip:
        xs.append(pad_w - chip)
    ys = list(range(0, int(pad_h - chip) + 1, stride))
    if ys[-1] != pad_h - chip:
        ys.append(pad_h - chip)
    todo = []
    for b in boxes:
        x1, y1 = min(max(b[0], 0), img_w), min(max(b[1], 0), img_h)
        x2, y2 = min(max(b[2], 0), img_w), min(max(b[3], 0), img_h)
        if not all(np.isfinite(b[:4])):
            continue
        if x2 - x1 <= 0 or y2 - y1 <= 0 or x2 - x1 > chip - stride or y2 - y1 > chip - stride:
            continue
        todo.append((x1, y1, x2, y2))
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
        [0, 0, 481, 100],          # side 481 > 512 - 32: left to coarser scales
        [10, 10, 10, 50],          # zero width
        [30, 30, 20, 40],          # negative width
        [np.nan, 0, 10, 10],       # NaN
        [3000, 3000, 3100, 3100],  # fully outside the 2000x1400 image
    ])
    assert generate_chips(boxes, 2000, 1400, 512, 32).shape == (0, 4)
    # Side exactly chip - stride is covered.
    chips = generate_chips(np.array([[17, 5, 497, 485]]), 2000, 1400, 512, 32)
    assert chips.shape == (1, 4) and contains(chips, np.array([[17, 5, 497, 485]])).all()


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
    must = (w > 0) & (h > 0) & (w <= chip - stride) & (h <= chip - stride)
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
    import json
    import pickle
    table = {'a.jpg': [[1, 2, 30, 40, 0.5]], '7': [[5, 5, 9, 9]]}
    jpath = tmp_path / 'p.json'
    jpath.write_text(json.dumps(table))
    loaded = load_proposals(str(jpath))
    np.testing.assert_array_equal(lookup_proposals(loaded, '/x/train/a.jpg'), [[1, 2, 30, 40]])
    np.testing.assert_array_equal(lookup_proposals(loaded, None, 7), [[5, 5, 9, 9]])
    assert lookup_proposals(loaded, '/x/b.jpg', 3).shape == (0, 4)
    ppath = tmp_path / 'p.pkl'
    ppath.write_bytes(pickle.dumps({'train/a.jpg': dict(bboxes=np.array([[1., 1., 4., 4.]]))}))
    np.testing.assert_array_equal(lookup_proposals(load_proposals(str(ppath)), 'd/train/a.jpg'),
                                  [[1, 1, 4, 4]])
    with pytest.raises(ValueError, match='proposals_file'):
        load_proposals(str(tmp_path / 'missing.pkl'))
