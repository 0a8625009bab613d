"""The one scale rule (mmdet_scalenorm/scale.py): hand-computed values, edge convention,
validation and numpy/torch agreement."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from mmdet_scalenorm.scale import (box_scale, in_range, is_unbounded, mean_scale_factor,
                                   parse_range, parse_ranges)


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
