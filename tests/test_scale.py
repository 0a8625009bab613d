"""The one scale rule (mmdet_scalenorm/scale.py): hand-computed values, edge convention,
validation and numpy/torch agreement."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from mmdet_scalenorm.scale import (REFERENCES, box_scale, in_range, is_unbounded,
                                   mean_scale_factor, parse_range, parse_ranges, range_in_pixels,
                                   valid_gt_mask)


def test_box_scale_hand_computed():
    boxes = np.array([[0, 0, 4, 9], [10, 10, 26, 26], [5, 5, 1, 9], [0, 0, 0, 7],
                      [0, 0, np.nan, 3]], np.float32)
    s = box_scale(boxes)
    np.testing.assert_allclose(s[:4], [6, 16, 0, 0])  # inverted / zero-width boxes: scale 0
    assert math.isnan(s[4])
    t = box_scale(torch.from_numpy(boxes))
    assert isinstance(t, torch.Tensor)
    np.testing.assert_allclose(t[:4].numpy(), [6, 16, 0, 0])
    assert torch.isnan(t[4])
    assert box_scale(np.array([[0, 0, 3, 12]])).item() == 6  # integer input works


def test_in_range_is_closed_and_nan_never_in():
    s = np.array([15.999, 16, 300, 560, 560.001, np.inf, np.nan])
    assert in_range(s, 16, 560).tolist() == [False, True, True, True, False, False, False]
    assert in_range(s, 16, math.inf).tolist() == [False, True, True, True, True, True, False]
    assert in_range(torch.tensor([0., 80.]), 0, 80).tolist() == [True, True]


@pytest.mark.parametrize('rng,expected', [
    ((16, 560), (16.0, 560.0)), ([0, 'inf'], (0.0, math.inf)), ((120, None), (120.0, math.inf)),
    ((120, float('inf')), (120.0, math.inf)), ((5, 5), (5.0, 5.0)), ((np.int64(1), 2.5), (1, 2.5)),
])
def test_parse_range_accepts(rng, expected):
    assert parse_range(rng) == expected


@pytest.mark.parametrize('rng,match', [
    ((560, 16), 'lo=560.0 > hi=16.0'), ((-1, 5), 'lo=-1.0'), ((1, 2, 3), '3 values'),
    ('16,560', 'valid_range must be'), ((float('nan'), 5), 'NaN'), (('a', 5), 'numbers'),
    ((True, 5), 'numbers'), (('inf', 'inf'), 'lo=inf'), (5, 'valid_range must be'),
])
def test_parse_range_rejects_with_key_and_allowed_values(rng, match):
    with pytest.raises(ValueError, match=match) as e:
        parse_range(rng, 'valid_range')
    assert 'valid_range' in str(e.value) and '0 <= lo <= hi' in str(e.value) \
        or 'numbers' in str(e.value)


def test_parse_ranges_names_the_bad_entry():
    assert parse_ranges([(0, 80), (40, 160), (120, 'inf')]) == [
        (0.0, 80.0), (40.0, 160.0), (120.0, math.inf)]
    with pytest.raises(ValueError, match=r'scale_ranges\[1\]'):
        parse_ranges([(0, 80), (160, 40)])
    with pytest.raises(ValueError, match='at least one'):
        parse_ranges([])


def test_is_unbounded_and_mean_scale_factor():
    assert is_unbounded((0, math.inf)) and not is_unbounded((0, 560)) \
        and not is_unbounded((16, math.inf))
    assert mean_scale_factor(None) == 1.0
    assert mean_scale_factor(2.0) == 2.0
    assert mean_scale_factor((4.0, 1.0)) == 2.0
    assert mean_scale_factor(np.array([0.5, 0.5])) == 0.5


@given(st.lists(st.tuples(*[st.floats(-1e4, 1e4, allow_nan=False)] * 4), max_size=20),
       st.floats(0, 1e3), st.floats(0, 1e4))
def test_numpy_and_torch_agree(boxes, lo, span):
    b = np.array(boxes, np.float64).reshape(-1, 4)
    hi = lo + span
    sn = box_scale(b)
    st_ = box_scale(torch.from_numpy(b))
    np.testing.assert_allclose(sn, st_.numpy(), rtol=1e-12)
    assert in_range(sn, lo, hi).tolist() == in_range(st_, lo, hi).tolist()
    assert (sn >= 0).all()


# ------------------------------------------------------------------ valid_gt_mask (THE GT rule)
def test_valid_gt_mask_hand_values():
    boxes = np.array([
        [0, 0, 16, 16],        # scale 16 = lo: valid (closed)
        [0, 0, 8, 32],         # sqrt(256) = 16, not square: valid
        [0, 0, 15, 16],        # sqrt(240) = 15.49: below lo
        [0, 0, 560, 560],      # = hi: valid (closed)
        [0, 0, 561, 560],      # above hi
        [10, 10, 10, 50],      # zero width: never valid, even with lo = 0
        [30, 30, 20, 40],      # negative width
        [0, 5, 20, 5],         # zero height
        [np.nan, 0, 20, 20],   # NaN
        [0, 0, np.inf, 20],    # inf
        [0, -np.inf, 20, 20],  # -inf
    ], np.float32)
    assert valid_gt_mask(boxes, 16, 560).tolist() == [True, True, False, True, False] + [False] * 6
    assert valid_gt_mask(boxes, 0, math.inf).tolist() == [True] * 5 + [False] * 6
    m = valid_gt_mask(boxes, 16, 16)  # a single-point range
    assert m.tolist() == [True, True] + [False] * 9
    assert isinstance(m, np.ndarray) and m.dtype == bool and m.shape == (11, )


def test_valid_gt_mask_empty_and_shapes():
    assert valid_gt_mask(np.zeros((0, 4), np.float32), 16, 560).shape == (0, )
    assert valid_gt_mask(torch.zeros(0, 4), 16, 560).shape == (0, )
    assert valid_gt_mask([0, 0, 20, 20], 16, 560).tolist() == [True]  # one box, as a list
    assert valid_gt_mask(np.array([[0, 0, 20, 20]], np.int64), 16, 560).tolist() == [True]


def test_valid_gt_mask_float32_and_float64_agree_at_the_edge():
    # 49.9 and 49.1 are not exact in float32. The float64 scale of the float32 box is the edge;
    # a float32 computation would round the scale up to 49.4983864 and put the box above hi.
    b32 = np.array([[0, 0, 49.9, 49.1]], np.float32)
    edge = math.sqrt(float(b32[0, 2]) * float(b32[0, 3]))
    assert float(box_scale(b32)[0]) > edge
    for boxes in (b32, b32.astype(np.float64), torch.from_numpy(b32),
                  torch.from_numpy(b32).double()):
        assert valid_gt_mask(boxes, 0, edge).tolist() == [True]
        assert valid_gt_mask(boxes, edge, math.inf).tolist() == [True]
        assert valid_gt_mask(boxes, 0, math.nextafter(edge, 0)).tolist() == [False]
        assert valid_gt_mask(boxes, math.nextafter(edge, math.inf), math.inf).tolist() == [False]


def test_valid_gt_mask_torch_input():
    boxes = torch.tensor([[0., 0., 16., 16.], [0., 0., 4., 4.], [0., 0., float('nan'), 9.]],
                         requires_grad=True)
    m = valid_gt_mask(boxes, 16, 560)
    assert isinstance(m, np.ndarray) and m.tolist() == [True, False, False]
    assert valid_gt_mask(boxes.detach().numpy(), 16, 560).tolist() == m.tolist()


_COORD = st.one_of(st.floats(-1e3, 1e3, width=32), st.integers(-50, 50).map(float),
                   st.sampled_from([math.nan, math.inf, -math.inf]))


@given(st.lists(st.tuples(*[_COORD] * 4), max_size=20),
       st.floats(0, 100), st.floats(0, 1e3))
def test_valid_gt_mask_is_finite_positive_and_in_range(boxes, lo, span):
    b = np.array(boxes, np.float32).reshape(-1, 4)
    hi = lo + span
    m = valid_gt_mask(b, lo, hi)
    b64 = b.astype(np.float64)
    with np.errstate(invalid='ignore'):
        w, h = b64[:, 2] - b64[:, 0], b64[:, 3] - b64[:, 1]
        expected = [bool(np.isfinite(r).all() and wi > 0 and hi_ > 0 and lo <= math.sqrt(wi * hi_)
                         <= hi) for r, wi, hi_ in zip(b64, w, h)]
    assert m.tolist() == expected
    assert valid_gt_mask(torch.from_numpy(b), lo, hi).tolist() == expected


# ------------------------------------------------------------------ range_in_pixels
def test_range_in_pixels_resized_is_passthrough():
    assert REFERENCES == ('resized', 'original')
    for sf in (None, 2.0, (4.0, 1.0), np.array([0.5, 0.25])):
        assert range_in_pixels((16, 560), 'resized', sf) == (16.0, 560.0)
    out = range_in_pixels((16, math.inf), 'resized', (3.0, 3.0))
    assert out == (16.0, math.inf) and all(isinstance(v, float) for v in out)


@pytest.mark.parametrize('sf, f', [
    ((2.0, 2.0), 2.0), ((4.0, 1.0), 2.0), ((2.0, 0.5), 1.0), ((0.5, 0.5), 0.5),
    (np.array([9.0, 4.0], np.float32), 6.0), (3.0, 3.0), (np.float64(0.25), 0.25), (None, 1.0),
    ([2.0, 8.0, 2.0, 8.0], 4.0),  # mmdet's 4-vector form: (sx, sy) are the first two
])
def test_range_in_pixels_original_times_sqrt_sx_sy(sf, f):
    assert range_in_pixels((40, 160), 'original', sf) == (40 * f, 160 * f)
    lo, hi = range_in_pixels((120, math.inf), 'original', sf)
    assert lo == 120 * f and hi == math.inf  # inf stays inf
    assert range_in_pixels((0, 80), 'original', sf) == (0.0, 80 * f)


def test_range_in_pixels_non_square_factor_by_hand():
    # (sx, sy) = (3, 1.5): sqrt(4.5) = 2.1213...; a 40x40 original box becomes 120x60 = scale
    # sqrt(7200) = 84.85 = 40 * sqrt(4.5), exactly the converted lo
    lo, hi = range_in_pixels((40, 160), 'original', (3.0, 1.5))
    assert lo == pytest.approx(math.sqrt(7200)) and hi == pytest.approx(160 * math.sqrt(4.5))
    assert valid_gt_mask(np.array([[0, 0, 120, 60]], np.float64), lo, hi).tolist() == [True]


@pytest.mark.parametrize('ref', ['Original', 'source', '', None, 'resize'])
def test_range_in_pixels_bad_reference_raises(ref):
    with pytest.raises(ValueError, match=r"reference must be one of \('resized', 'original'\)"):
        range_in_pixels((16, 560), ref, None)
