"""mmdet_scalenorm.analysis.pyramid: reading the training pyramid of a config and the object scales,
valid or ignored, at every pyramid scale (ISN §3.2, Fig. 1 e/f)."""
import json
import math
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from mmdet_scalenorm.analysis import (collect_scale_stats, format_scale_table, iter_pyramid,
                                      pyramid_views_from_config)
from mmdet_scalenorm.scale import box_scale, in_range

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ISN_CONFIG = osp.join(REPO, 'configs', 'isn', 'isn-faster-rcnn_r50_fpn_18e_coco.py')
CLASSES = ('disc', 'rectangle', 'triangle', 'star', 'figure')
LOAD = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True)]
TAIL = [dict(type='RandomFlip', prob=0.5), dict(type='PackDetInputs')]


def coco_dataset(root, ann='annotations/instances_train.json', img='train/', classes=CLASSES,
                 pipeline=(), **kw):
    return dict(type='CocoDataset', data_root=root, ann_file=ann, data_prefix=dict(img=img),
                metainfo=dict(classes=classes), filter_cfg=None, pipeline=list(pipeline), **kw)


def make_cfg(dataset):
    return Config(dict(default_scope='mmdet', train_dataloader=dict(batch_size=1, dataset=dataset)))


def resize_choice(factors, keep_ratio=False):
    return dict(type='RandomChoice', transforms=[
        [dict(type='Resize', scale_factor=f, keep_ratio=keep_ratio)] for f in factors])


# ----------------------------------------------------------------------------- hand-made tiny COCO
# image 0: 100x80.  boxes (x, y, w, h): sides chosen so that at factor 2 the scales hit the range
# [16, 40] edges: 8x8 -> 16 (lo, valid), 20x20 -> 40 (hi, valid), 21x21 -> 42 (invalid),
# 7x9 -> 2*sqrt(63) = 15.87 (invalid), crowd 10x10 -> 20 (crowd: ignored whatever its scale).
HAND_BOXES = {
    1: [(5, 5, 8, 8, 0), (20, 10, 20, 20, 0), (50, 30, 21, 21, 0), (70, 5, 7, 9, 0),
        (10, 50, 10, 10, 1)],
    2: [(2, 3, 30, 12, 0)],
}
HAND_SIZES = {1: (100, 80), 2: (60, 50)}  # (w, h)


@pytest.fixture
def hand_coco(tmp_path):
    (tmp_path / 'train').mkdir()
    (tmp_path / 'annotations').mkdir()
    images, anns = [], []
    rng = np.random.default_rng(0)
    for img_id, (w, h) in HAND_SIZES.items():
        name = f'{img_id:06d}.png'
        cv2.imwrite(str(tmp_path / 'train' / name), rng.integers(0, 255, (h, w, 3), np.uint8))
        images.append(dict(id=img_id, file_name=name, width=w, height=h))
        for x, y, bw, bh, crowd in HAND_BOXES[img_id]:
            anns.append(dict(id=len(anns) + 1, image_id=img_id, category_id=1, iscrowd=crowd,
                             bbox=[x, y, bw, bh], area=bw * bh, segmentation=[]))
    coco = dict(images=images, annotations=anns,
                categories=[dict(id=i + 1, name=c) for i, c in enumerate(CLASSES)])
    (tmp_path / 'annotations' / 'instances_train.json').write_text(json.dumps(coco))
    return str(tmp_path) + '/'


def hand_xyxy(img_id):
    return np.array([[x, y, x + w, y + h] for x, y, w, h, _ in HAND_BOXES[img_id]], np.float64)


def hand_crowd(img_id):
    return np.array([c == 1 for *_, c in HAND_BOXES[img_id]])


# ----------------------------------------------------------------------------- reading the pyramid
def test_isn_config_views():
    # SNIPER epochs: ChipDataset's factors replayed as the ResizeToChipScale views
    spec = pyramid_views_from_config(Config.fromfile(ISN_CONFIG))
    assert spec.form == 'ResizeToChipScale'
    assert [v.resize['scale_factor'] for v in spec.views] == [4.0, 2.0, 1.0, 0.5, 0.25]
    assert [v.label for v in spec.views] == ['x4', 'x2', 'x1', 'x0.5', 'x0.25']
    assert all(v.resize['type'] == 'Resize' and not v.resize['keep_ratio'] for v in spec.views)
    assert tuple(spec.mark_valid_range['valid_range']) == (16, 560)
    assert spec.sample_chip['chip_size'] == 576
    assert [s['type'] for s in spec.load] == ['LoadImageFromFileOrSkip', 'LoadAnnotations']


def test_random_choice_resize_views():
    pipe = LOAD + [dict(type='RandomChoiceResize', scales=[(1333, 640), (1333, 800)],
                        keep_ratio=True),
                   dict(type='MarkValidRange', valid_range=(0, 'inf'))] + TAIL
    spec = pyramid_views_from_config(make_cfg(coco_dataset('x/', pipeline=pipe)))
    assert spec.scales == [dict(type='Resize', scale=(1333, 640), keep_ratio=True),
                           dict(type='Resize', scale=(1333, 800), keep_ratio=True)]
    assert [v.label for v in spec.views] == ['1333x640', '1333x800']
    assert spec.mark_valid_range['valid_range'] == (0, 'inf')
    assert spec.sample_chip is None


def test_random_resize_views_are_the_range_ends():
    pipe = LOAD + [dict(type='RandomResize', scale=[(1333, 800), (1333, 480)], keep_ratio=True)]
    spec = pyramid_views_from_config(make_cfg(coco_dataset('x/', pipeline=pipe)))
    assert [v.resize['scale'] for v in spec.views] == [(1333, 480), (1333, 800)]
    assert spec.views[0].mark_valid_range is None
    pipe = LOAD + [dict(type='RandomResize', scale=(1000, 600), ratio_range=(0.5, 2.0),
                        keep_ratio=True)]
    spec = pyramid_views_from_config(make_cfg(coco_dataset('x/', pipeline=pipe)))
    assert [v.resize['scale'] for v in spec.views] == [(500, 300), (2000, 1200)]
    assert all(v.resize['keep_ratio'] for v in spec.views)


def test_snip_per_option_ranges_and_wrappers():
    """SNIP §7.1: one MarkValidRange per Resize inside RandomChoice; wrappers are unwrapped."""
    opts = [[dict(type='Resize', scale=s, keep_ratio=True),
             dict(type='MarkValidRange', valid_range=r, reference='original')]
            for s, r in (((2000, 1400), (0, 80)), ((1200, 800), (40, 160)),
                         ((800, 480), (120, 'inf')))]
    pipe = LOAD + [dict(type='RandomChoice', transforms=opts)] + TAIL
    ds = dict(type='ClassBalancedDataset', oversample_thr=1e-3,
              dataset=dict(type='RepeatDataset', times=3,
                           dataset=coco_dataset('x/', pipeline=pipe)))
    spec = pyramid_views_from_config(make_cfg(ds))
    assert spec.wrappers == ['ClassBalancedDataset', 'RepeatDataset']
    assert [v.resize['scale'] for v in spec.views] == [(2000, 1400), (1200, 800), (800, 480)]
    assert [v.mark_valid_range['valid_range'] for v in spec.views] == \
        [(0, 80), (40, 160), (120, 'inf')]
    assert spec.mark_valid_range is None  # differs per scale
    assert spec.dataset['type'] == 'CocoDataset'


def test_chip_dataset_views():
    pipe = LOAD + [dict(type='ResizeToChipScale'), dict(type='MarkValidRange'),
                   dict(type='SampleChip', chip_size=256)] + TAIL
    ds = dict(type='ChipDataset', scale_factors=(2, 1, 0.5), pipeline=pipe,
              dataset=coco_dataset('x/', pipeline=[dict(type='LoadImageFromFile')]))
    spec = pyramid_views_from_config(make_cfg(ds))
    assert spec.form == 'ResizeToChipScale'
    assert spec.scales == [dict(type='Resize', scale_factor=f, keep_ratio=False)
                           for f in (2.0, 1.0, 0.5)]
    assert spec.sample_chip['chip_size'] == 256
    assert [s['type'] for s in spec.load] == ['LoadImageFromFile', 'LoadAnnotations']
    del ds['scale_factors']  # ChipDataset's default pyramid, ISN's {4, 2, 1, 0.5, 0.25}
    spec = pyramid_views_from_config(make_cfg(ds))
    assert [v.resize['scale_factor'] for v in spec.views] == [4.0, 2.0, 1.0, 0.5, 0.25]


@pytest.mark.parametrize('pipe, match', [
    (LOAD + TAIL, 'no resize step'),
    (LOAD + [dict(type='Resize', scale=(64, 64)), dict(type='Resize', scale_factor=2.0)],
     '2 resize steps'),
    (LOAD + [dict(type='FixShapeResize', width=64, height=64)], 'FixShapeResize'),
    (LOAD + [dict(type='RandomChoice', transforms=[[dict(type='Resize', scale_factor=2.0),
                                                    dict(type='RandomFlip', prob=0.5)]])],
     'option 0'),
    (LOAD + [dict(type='RandomChoice', transforms=[
        [dict(type='Resize', scale_factor=2.0), dict(type='MarkValidRange')],
        [dict(type='Resize', scale_factor=1.0)]])], 'every option'),
    (LOAD + [dict(type='RandomChoice', transforms=[
        [dict(type='Resize', scale_factor=2.0), dict(type='MarkValidRange')]]),
        dict(type='MarkValidRange')], 'both inside'),
    (LOAD + [dict(type='Resize')], 'scale or scale_factor'),
    (LOAD + [dict(type='ResizeToChipScale')], 'ChipDataset'),
])
def test_unsupported_pipelines_raise(pipe, match):
    with pytest.raises(ValueError, match=match):
        pyramid_views_from_config(make_cfg(coco_dataset('x/', pipeline=pipe)))


def test_unsupported_datasets_raise():
    pipe = LOAD + [dict(type='Resize', scale=(64, 64))]
    with pytest.raises(ValueError, match='ConcatDataset'):
        pyramid_views_from_config(make_cfg(dict(
            type='ConcatDataset', datasets=[coco_dataset('x/', pipeline=pipe)] * 2)))
    with pytest.raises(ValueError, match='MultiImageMixDataset'):
        pyramid_views_from_config(make_cfg(dict(
            type='MultiImageMixDataset', pipeline=[dict(type='Mosaic')],
            dataset=coco_dataset('x/', pipeline=pipe))))
    with pytest.raises(ValueError, match='train_dataloader'):
        pyramid_views_from_config(Config(dict(default_scope='mmdet')))


# ----------------------------------------------------------------------------- scale statistics
def test_hand_made_scales_and_closed_range(hand_coco):
    pipe = LOAD + [resize_choice((2.0, 1.0)), dict(type='MarkValidRange', valid_range=(16, 40))]
    stats = collect_scale_stats(make_cfg(coco_dataset(hand_coco, pipeline=pipe)), progress=False)
    assert [s.view.label for s in stats] == ['x2', 'x1']
    x2, x1 = stats
    # factor 2 on 100x80 and 60x50 is exact: scales are twice the original ones.
    np.testing.assert_allclose(x2.scales[:5], [16, 40, 42, 2 * math.sqrt(63), 20])
    np.testing.assert_allclose(x2.scales[5], 2 * math.sqrt(30 * 12))
    assert x2.valid.tolist() == [True, True, False, False, False, True]  # closed range [16, 40]
    assert x2.crowd.tolist() == [False, False, False, False, True, False]
    assert x2.ignored.tolist() == [False, False, True, True, False, False]
    np.testing.assert_allclose(x1.scales[:5], [8, 20, 21, math.sqrt(63), 10])
    assert x1.valid.tolist() == [False, True, True, False, False, True]  # 8 < 16, sqrt(63) < 16
    assert x2.image_index.tolist() == [0] * 5 + [1]
    np.testing.assert_array_equal(x2.ranges, [[16, 40], [16, 40]])
    assert x2.counts() == dict(images=2, objects=6, valid=3, ignored=2, crowd=1)


def test_snip_original_reference(hand_coco):
    """reference='original': validity is decided in original pixels at every scale."""
    opts = [[dict(type='Resize', scale_factor=2.0, keep_ratio=False),
             dict(type='MarkValidRange', valid_range=(0, 10), reference='original')],
            [dict(type='Resize', scale_factor=1.0, keep_ratio=False),
             dict(type='MarkValidRange', valid_range=(10, 'inf'), reference='original')]]
    pipe = LOAD + [dict(type='RandomChoice', transforms=opts)]
    x2, x1 = collect_scale_stats(make_cfg(coco_dataset(hand_coco, pipeline=pipe)), progress=False)
    orig = box_scale(hand_xyxy(1))  # 8, 20, 21, 7.94, 10
    assert x2.valid[:5].tolist() == (in_range(orig, 0, 10) & ~hand_crowd(1)).tolist()
    assert x1.valid[:5].tolist() == (in_range(orig, 10, math.inf) & ~hand_crowd(1)).tolist()
    np.testing.assert_allclose(x2.ranges, [[0, 20], [0, 20]])  # (0, 10) * sqrt(2 * 2)


def test_without_mark_valid_range_all_valid(hand_coco):
    pipe = LOAD + [dict(type='RandomChoiceResize', scales=[(50, 40), (200, 160)], keep_ratio=True)]
    stats = collect_scale_stats(make_cfg(coco_dataset(hand_coco, pipeline=pipe)), progress=False)
    for s, f in zip(stats, (0.5, 2.0)):
        assert s.valid.tolist() == (~s.crowd).tolist() and s.crowd.sum() == 1
        np.testing.assert_array_equal(s.ranges, [[0, math.inf]] * 2)
        np.testing.assert_allclose(s.scales[:5], box_scale(hand_xyxy(1)) * f)
    assert 'objects' in format_scale_table(stats)


def test_corrupt_image_skipped_and_counted(hand_coco):
    with open(osp.join(hand_coco, 'train', '000002.png'), 'wb') as f:
        f.write(b'not a png')
    pipe = LOAD + [resize_choice((1.0,)), dict(type='MarkValidRange', valid_range=(16, 40))]
    skipped = []
    with pytest.warns(UserWarning, match='000002.png'):
        (s,) = collect_scale_stats(make_cfg(coco_dataset(hand_coco, pipeline=pipe)),
                                   load_images=True, progress=False, skipped=skipped)
    assert [(i, osp.basename(p)) for i, p, _ in skipped] == [(1, '000002.png')]
    assert s.num_images == 1 and len(s.scales) == 5


def test_synthetic_isn_scales_follow_the_rule(synthetic_tiny):
    """The repo's ISN config on the synthetic data: scales = box_scale * factor (up to the pixel
    rounding of the resized size) and validity = the closed range [16, 560] minus crowd."""
    cfg = Config.fromfile(ISN_CONFIG)  # ChipDataset around the COCO dataset
    cfg.train_dataloader.dataset.dataset.update(coco_dataset(synthetic_tiny['data_root'] + '/'))
    stats = collect_scale_stats(cfg, progress=False)
    coco = json.load(open(synthetic_tiny['train_ann']))
    sizes = {im['id']: (im['width'], im['height']) for im in coco['images']}
    # dataset order = image order of the json (no filtering: filter_cfg=None)
    boxes = np.array([[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2],
                       a['bbox'][1] + a['bbox'][3]] for im in coco['images']
                      for a in coco['annotations'] if a['image_id'] == im['id']])
    min_side = np.array([min(sizes[a['image_id']]) for im in coco['images']
                         for a in coco['annotations'] if a['image_id'] == im['id']])
    assert len(boxes) > 10
    for s, f in zip(stats, (4.0, 2.0, 1.0, 0.5, 0.25)):
        assert len(s.scales) == len(boxes)
        expected = box_scale(boxes) * f
        # resized sides are rounded to whole pixels: relative error <= 1 / (f * min side)
        np.testing.assert_allclose(s.scales, expected, rtol=1.0 / (f * min_side.min()) + 1e-6)
        assert s.valid.tolist() == in_range(s.scales, 16, 560).tolist()
        assert not s.crowd.any()
    counts = [s.counts()['valid'] for s in stats]
    assert counts[0] != counts[-1]  # the pyramid changes what is valid


def test_load_images_false_equals_decoding(synthetic_tiny):
    pipe = LOAD + [resize_choice((2.0, 0.5), keep_ratio=True),
                   dict(type='MarkValidRange', valid_range=(16, 100))]
    cfg = make_cfg(coco_dataset(synthetic_tiny['data_root'] + '/', pipeline=pipe))
    fast = collect_scale_stats(cfg, progress=False)
    slow = collect_scale_stats(cfg, load_images=True, progress=False, max_images=100)
    for a, b in zip(fast, slow):
        np.testing.assert_array_equal(a.scales, b.scales)
        np.testing.assert_array_equal(a.valid, b.valid)
    two = collect_scale_stats(cfg, progress=False, max_images=2)
    assert two[0].num_images == 2 and set(two[0].image_index.tolist()) == {0, 1}
    with pytest.raises(ValueError, match='max_images'):
        collect_scale_stats(cfg, max_images=0)


def test_chip_dataset_config_equals_plain_resize(synthetic_tiny):
    """ChipDataset + ResizeToChipScale is replayed like Resize(scale_factor=f, keep_ratio=False)."""
    root = synthetic_tiny['data_root'] + '/'
    mark = dict(type='MarkValidRange', valid_range=(16, 120), keep_empty=True)
    chip_pipe = LOAD + [dict(type='ResizeToChipScale'), mark, dict(type='SampleChip')] + TAIL
    chip_cfg = make_cfg(dict(type='ChipDataset', scale_factors=(2, 0.5), pipeline=chip_pipe,
                             dataset=coco_dataset(root)))
    plain_cfg = make_cfg(coco_dataset(root, pipeline=LOAD + [resize_choice((2.0, 0.5)), mark]))
    a_stats = collect_scale_stats(chip_cfg, progress=False)
    b_stats = collect_scale_stats(plain_cfg, progress=False)
    for a, b in zip(a_stats, b_stats):
        np.testing.assert_array_equal(a.scales, b.scales)
        np.testing.assert_array_equal(a.valid, b.valid)


def test_iter_pyramid_selected_views(hand_coco):
    pipe = LOAD + [resize_choice((2.0, 0.5)), dict(type='MarkValidRange', valid_range=(16, 40))]
    samples = list(iter_pyramid(make_cfg(coco_dataset(hand_coco, pipeline=pipe)),
                                view_indices=[1], load_images=True))
    assert [(s.index, s.view_index) for s in samples] == [(0, 1), (1, 1)]
    assert samples[0].results['img'].shape == (40, 50, 3)  # 100x80 decoded, resized by 0.5
    assert samples[1].results['img'].shape == (25, 30, 3)
    assert samples[0].valid_range == (16.0, 40.0)
    np.testing.assert_allclose(samples[0].results['gt_bboxes'].tensor.numpy(),
                               hand_xyxy(1) * 0.5)
