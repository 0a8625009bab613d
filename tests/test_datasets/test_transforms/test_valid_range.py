"""Tests of MarkValidRange (SNIP §6.1/§7.1, ISN §3.3.1)."""
import math

import numpy as np
import pytest
import torch
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import HorizontalBoxes

import mmdet_scalenorm  # noqa: F401  (registers the transforms)
from mmdet_scalenorm.datasets.transforms import MarkValidRange


def make_results(boxes, ignore=None, scale_factor=None, as_hbox=True):
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    res = dict(img=np.zeros((600, 800, 3), np.uint8), img_shape=(600, 800),
               gt_bboxes=HorizontalBoxes(boxes) if as_hbox else boxes,
               gt_bboxes_labels=np.zeros(len(boxes), np.int64))
    if ignore is not None:
        res['gt_ignore_flags'] = np.asarray(ignore, dtype=bool)
    if scale_factor is not None:
        res['scale_factor'] = scale_factor
    return res


def test_closed_range_edges_resized_reference():
    boxes = [[0, 0, 16, 16],      # scale 16: lo edge, valid (closed range)
             [0, 0, 15, 16],      # sqrt(240) = 15.49: invalid
             [0, 0, 8, 32],       # sqrt(256) = 16, non-square: valid
             [0, 0, 560, 560],    # hi edge: valid
             [0, 0, 561, 560],    # above hi: invalid
             [10, 10, 110, 60]]   # sqrt(5000) = 70.7: valid
    out = MarkValidRange()(make_results(boxes))
    np.testing.assert_array_equal(out['gt_ignore_flags'], [0, 1, 0, 0, 1, 0])
    assert out['valid_range'] == (16.0, 560.0)
    assert out['valid_range_info'] == dict(reference='resized', range=(16.0, 560.0),
                                           num_valid=4, num_invalid=2)


def test_infinite_upper_bound():
    boxes = [[0, 0, 5000, 5000], [0, 0, 99, 100], [0, 0, 100, 100]]
    for hi in (math.inf, 'inf', None):
        out = MarkValidRange(valid_range=(100, hi), keep_empty=True)(make_results(boxes))
        np.testing.assert_array_equal(out['gt_ignore_flags'], [0, 1, 0])
        assert out['valid_range'] == (100.0, math.inf)


def test_snip_original_reference_uses_scale_factor():
    # Range (40, 160) in original pixels at scale factor 2 -> (80, 320) in resized pixels.
    boxes = [[0, 0, 80, 80], [0, 0, 79, 80], [0, 0, 320, 320], [0, 0, 321, 320]]
    t = MarkValidRange(valid_range=(40, 160), reference='original')
    out = t(make_results(boxes, scale_factor=(2.0, 2.0)))
    np.testing.assert_array_equal(out['gt_ignore_flags'], [0, 1, 0, 1])
    assert out['valid_range'] == (80.0, 320.0)
    assert out['valid_range_info']['range'] == (40.0, 160.0)
    assert out['valid_range_info']['reference'] == 'original'
    # Anisotropic: sx=2, sy=0.5 -> sqrt(sx*sy)=1; an 80x20 resized box is 40x40 originally.
    out = t(make_results([[0, 0, 80, 20], [0, 0, 79, 20]], scale_factor=(2.0, 0.5)))
    np.testing.assert_array_equal(out['gt_ignore_flags'], [0, 1])
    assert out['valid_range'] == (40.0, 160.0)
    # SNIP's coarsest scale: (120, inf) at factor 0.5 -> (60, inf).
    out = MarkValidRange((120, math.inf), 'original')(
        make_results([[0, 0, 60, 60], [0, 0, 59, 60]], scale_factor=(0.5, 0.5)))
    np.testing.assert_array_equal(out['gt_ignore_flags'], [0, 1])
    # Same range with reference='resized' ignores the scale factor.
    out = MarkValidRange((40, 160))(make_results([[0, 0, 80, 80]], scale_factor=(2.0, 2.0)))
    assert out['valid_range'] == (40.0, 160.0) and not out['gt_ignore_flags'][0]


def test_crowd_stays_ignored_and_counts():
    boxes = [[0, 0, 50, 50], [0, 0, 60, 60], [0, 0, 2, 2]]
    out = MarkValidRange()(make_results(boxes, ignore=[True, False, False]))
    np.testing.assert_array_equal(out['gt_ignore_flags'], [1, 0, 1])
    assert out['valid_range_info']['num_valid'] == 1
    assert out['valid_range_info']['num_invalid'] == 1  # the crowd box is in neither count


def test_degenerate_and_nan_boxes_are_always_invalid():
    boxes = [[10, 10, 10, 50],          # zero width (scale 0, inside (0, inf) otherwise)
             [30, 30, 20, 40],          # negative width
             [np.nan, 0, 10, 10],       # NaN
             [0, 0, np.inf, 10],        # inf
             [0, 0, 10, 10]]            # fine
    out = MarkValidRange(valid_range=(0, math.inf))(make_results(boxes))
    np.testing.assert_array_equal(out['gt_ignore_flags'], [1, 1, 1, 1, 0])


def test_no_valid_gt_returns_none_unless_keep_empty():
    res = make_results([[0, 0, 4, 4], [0, 0, 1000, 1000]])
    assert MarkValidRange()(res) is None
    out = MarkValidRange(keep_empty=True)(make_results([[0, 0, 4, 4]]))
    assert out is not None and out['gt_ignore_flags'].all()
    assert out['valid_range_info']['num_valid'] == 0
    # No GT at all (and no gt_bboxes key).
    assert MarkValidRange()(make_results(np.zeros((0, 4)))) is None
    empty = dict(img=np.zeros((10, 10, 3), np.uint8), img_shape=(10, 10))
    out = MarkValidRange(keep_empty=True)(empty)
    assert out['gt_ignore_flags'].shape == (0,) and out['valid_range_info']['num_valid'] == 0
    # Only crowd GT: nothing to train on.
    assert MarkValidRange()(make_results([[0, 0, 50, 50]], ignore=[True])) is None


def test_plain_array_and_tensor_boxes():
    boxes = [[0, 0, 50, 50], [0, 0, 4, 4]]
    out = MarkValidRange()(make_results(boxes, as_hbox=False))
    np.testing.assert_array_equal(out['gt_ignore_flags'], [0, 1])
    res = make_results(boxes)
    res['gt_bboxes'] = torch.tensor(boxes, dtype=torch.float32)
    np.testing.assert_array_equal(MarkValidRange()(res)['gt_ignore_flags'], [0, 1])


@pytest.mark.parametrize('kwargs,key', [
    (dict(valid_range=(10, 5)), 'valid_range'),
    (dict(valid_range=(-1, 5)), 'valid_range'),
    (dict(valid_range=(1, 2, 3)), 'valid_range'),
    (dict(valid_range='16-560'), 'valid_range'),
    (dict(reference='source'), 'reference'),
    (dict(keep_empty='yes'), 'keep_empty'),
])
def test_bad_config_raises_value_error_naming_the_key(kwargs, key):
    with pytest.raises(ValueError, match=key):
        MarkValidRange(**kwargs)


def test_pipeline_resize_mark_pack_moves_invalid_to_ignored_instances():
    pipeline = [
        dict(type='Resize', scale=(400, 300), keep_ratio=True),  # 800x600 -> 400x300, factor 0.5
        dict(type='MarkValidRange', valid_range=(40, 160), reference='original'),
        dict(type='PackDetInputs',
             meta_keys=('img_shape', 'scale_factor', 'valid_range', 'valid_range_info')),
    ]
    from mmcv.transforms import Compose
    pipe = Compose([TRANSFORMS.build(t) for t in pipeline])
    # Original scales: 100 (valid), 20 (too small), 300 (too large), crowd 100.
    res = make_results([[0, 0, 100, 100], [0, 0, 20, 20], [100, 100, 400, 400],
                        [200, 200, 300, 300]], ignore=[False, False, False, True])
    res['gt_bboxes_labels'] = np.array([0, 1, 2, 3])
    out = pipe(res)
    ds = out['data_samples']
    assert ds.metainfo['valid_range'] == (20.0, 80.0)
    assert ds.metainfo['valid_range_info']['num_valid'] == 1
    assert ds.gt_instances.labels.tolist() == [0]
    assert ds.ignored_instances.labels.tolist() == [1, 2, 3]
    torch.testing.assert_close(ds.gt_instances.bboxes.tensor if hasattr(
        ds.gt_instances.bboxes, 'tensor') else ds.gt_instances.bboxes,
        torch.tensor([[0., 0., 50., 50.]]))


def test_uses_the_one_gt_rule_of_scale_py():
    """The flags are exactly valid_gt_mask with the range of range_in_pixels (scale.py)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from mmdet_scalenorm.scale import range_in_pixels, valid_gt_mask
    coord = st.one_of(st.integers(0, 400).map(float), st.floats(0, 400, width=32),
                      st.sampled_from([math.nan, math.inf]))

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.tuples(coord, coord, coord, coord), min_size=1, max_size=12),
           st.sampled_from(['resized', 'original']), st.floats(0, 60), st.floats(0, 300),
           st.sampled_from([None, (2.0, 2.0), (0.5, 0.5), (4.0, 1.0), (1.3, 0.7), 1.5]))
    def check(boxes, reference, lo, span, sf):
        rng = (lo, lo + span)
        crowd = np.arange(len(boxes)) % 3 == 2
        res = make_results(boxes, ignore=crowd, scale_factor=sf)
        out = MarkValidRange(rng, reference, keep_empty=True)(res)
        px = range_in_pixels(rng, reference, sf)
        valid = valid_gt_mask(np.asarray(boxes, np.float32), *px)
        np.testing.assert_array_equal(out['gt_ignore_flags'], crowd | ~valid)
        assert out['valid_range'] == px

    check()


def test_float64_boxes_are_not_rounded_to_float32_first():
    # 49.9 x 49.1 in float64: its float64 scale is the edge of the range; rounding the
    # coordinates to float32 first would move the scale across it
    edge = math.sqrt(49.9 * 49.1)
    res = make_results([[0, 0, 1, 1]], as_hbox=False)
    res['gt_bboxes'] = np.array([[0, 0, 49.9, 49.1]], np.float64)
    out = MarkValidRange((0, edge), keep_empty=True)(res)
    assert out['gt_ignore_flags'].tolist() == [False]
    res['gt_bboxes'] = np.array([[0, 0, 49.9, 49.1]], np.float64)
    out = MarkValidRange((edge, math.inf), keep_empty=True)(res)
    assert out['gt_ignore_flags'].tolist() == [False]
    # and the float32 box exactly on its own float64 edge is valid too
    b32 = np.array([[0, 0, 49.9, 49.1]], np.float32)
    edge32 = math.sqrt(float(b32[0, 2]) * float(b32[0, 3]))
    for rng in ((0, edge32), (edge32, math.inf)):
        out = MarkValidRange(rng, keep_empty=True)(make_results(b32))
        assert out['gt_ignore_flags'].tolist() == [False]


def test_bad_reference_message_names_allowed_values():
    with pytest.raises(ValueError, match=r"reference must be one of \('resized', 'original'\)"):
        MarkValidRange(reference='Original')
