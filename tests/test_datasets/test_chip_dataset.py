"""Tests of ChipDataset (SNIPER epochs over image pyramids, ISN §3.3.1) and ResizeToChipScale."""
import json
import math
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmdet.datasets.transforms import Resize
from mmdet.registry import DATASETS
from mmdet.structures.mask import BitmapMasks, PolygonMasks
from mmdet.utils import register_all_modules

import mmdet_scalenorm  # noqa: F401  (registers the components)
from mmdet_scalenorm.chips import generate_chips
from mmdet_scalenorm.datasets import ChipDataset
from mmdet_scalenorm.datasets.transforms import ResizeToChipScale
from mmdet_scalenorm.scale import box_scale, in_range, valid_gt_mask

register_all_modules(init_default_scope=False)

CHIP, STRIDE = 128, 32
FACTORS = (4, 2, 1, 0.5, 0.25)

# Images of the hand-made COCO file: name -> (w, h, [(x, y, w, h, iscrowd), ...]).
IMAGES = {
    'a.png': (200, 150, [(20, 20, 10, 10, 0), (100, 50, 60, 40, 0), (0, 0, 200, 150, 1)]),
    'b.png': (120, 100, [(10, 10, 50, 50, 1)]),          # crowd only: never a positive chip
    'c.png': (160, 160, []),                              # no annotation
    'd.png': (300, 200, [(5, 5, 8, 8, 0), (250, 150, 40, 40, 0), (30, 100, 120, 90, 0),
                         (140, 20, 30, 20, 0)]),
}


def _write_coco(root, images=IMAGES):
    os.makedirs(osp.join(root, 'img'), exist_ok=True)
    rng = np.random.default_rng(0)
    coco = dict(images=[], annotations=[], categories=[dict(id=1, name='thing')])
    aid = 1
    for iid, (name, (w, h, anns)) in enumerate(images.items(), start=1):
        cv2.imwrite(osp.join(root, 'img', name), rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        coco['images'].append(dict(id=iid, file_name=name, width=w, height=h))
        for x, y, bw, bh, crowd in anns:
            poly = [x, y, x + bw, y, x + bw, y + bh, x, y + bh]
            coco['annotations'].append(dict(id=aid, image_id=iid, category_id=1,
                                            bbox=[x, y, bw, bh], area=bw * bh, iscrowd=crowd,
                                            segmentation=[poly]))
            aid += 1
    ann = osp.join(root, 'ann.json')
    with open(ann, 'w') as f:
        json.dump(coco, f)
    return ann


@pytest.fixture(scope='module')
def coco(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('chip_coco'))
    return dict(root=root, ann=_write_coco(root))


def inner_cfg(coco):
    return dict(type='CocoDataset', data_root=coco['root'], ann_file=coco['ann'],
                data_prefix=dict(img='img/'), metainfo=dict(classes=('thing', )), pipeline=[],
                serialize_data=False)  # skips mmengine's gc.collect(): 0.6 s per dataset


def chip_pipeline(crop_to_chip=True, poly2mask=False, keep_empty=False, flip=0.0, **mvr):
    return [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True, poly2mask=poly2mask),
        dict(type='ResizeToChipScale', crop_to_chip=crop_to_chip),
        dict(type='MarkValidRange', keep_empty=keep_empty, **mvr),
        dict(type='SampleChip', chip_size=CHIP, stride=STRIDE),
        dict(type='RandomFlip', prob=flip),
        dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'img_shape', 'scale_factor',
                                              'chip', 'chip_type', 'chip_scale_factor',
                                              'valid_range')),
    ]


def make(coco, tmp_path, **kw):
    if kw.get('reference') == 'original':
        kw.setdefault('pipeline', ())  # per-scale ranges: enumeration only
    kw.setdefault('pipeline', chip_pipeline(valid_range=kw.get('valid_range', (16, 560))))
    kw.setdefault('cache_dir', str(tmp_path / 'cache'))
    kw.setdefault('show_progress', False)
    return ChipDataset(dataset=inner_cfg(coco), chip_size=CHIP, stride=STRIDE, **kw)


def items_by_pair(ds):
    out = {}
    for i in range(len(ds)):
        info = ds.get_chip_info(i)
        out.setdefault((info['img_idx'], info['scale_factor']), []).append(info['chip'])
    return out


def expected_valid(boxes, ignore, w, h, f, lo, hi):
    """Independent re-statement of the rule: float32 boxes times float32 factors (LoadAnnotations +
    mmdet Resize), clipped, scale in the closed range (computed in float64)."""
    ws, hs = int(w * f + 0.5), int(h * f + 0.5)
    s = boxes.astype(np.float32) * np.array([ws / w, hs / h] * 2, dtype=np.float32)
    s[:, 0::2] = s[:, 0::2].clip(0, ws)
    s[:, 1::2] = s[:, 1::2].clip(0, hs)
    s = s.astype(np.float64)
    return s, in_range(box_scale(s), lo, hi) & ~ignore, ws, hs


# ------------------------------------------------------------------------------------ enumeration
def test_hand_computed_pairs(coco, tmp_path):
    ds = make(coco, tmp_path)
    pairs = items_by_pair(ds)
    # a.png: 10x10 box valid at f=4, 2 (40, 20 px); 60x40 (scale 49) valid at 2, 1 and 0.5, too
    # large for a 128 chip at 4 (240x160); nothing valid at 0.25.  b (crowd only), c: no item.
    a_pairs = sorted(f for (i, f) in pairs if i == 0)
    assert a_pairs == [0.5, 1, 2, 4]
    assert all(i not in (1, 2) for (i, _) in pairs)
    assert [len(pairs[(0, f)]) for f in (4, 2, 1, 0.5)] == [1, 2, 1, 1]
    # f=2: the 120x80 box [200, 100, 320, 180] has a side above 128 - 32 (left out before boxes
    # up to chip_size were covered); the grid window x0 = 192 holds it (192 + 128 = 320), y0: the
    # first grid start >= 180 - 128 -> 64.  The 20x20 box [40, 40, 60, 60]: (0, 0), first.
    np.testing.assert_array_equal(pairs[(0, 2)], [[0, 0, CHIP, CHIP], [192, 64, 320, 192]])
    # f=0.5: the 100x75 image is smaller than the chip: one chip at the origin.
    np.testing.assert_array_equal(pairs[(0, 0.5)][0], [0, 0, CHIP, CHIP])
    # f=4: the chip holds the 40x40 box [80, 80, 120, 120].
    c = pairs[(0, 4)][0]
    assert c[0] <= 80 and c[1] <= 80 and c[2] >= 120 and c[3] >= 120
    assert len(ds) == ds.num_pos == sum(len(v) for v in pairs.values())


@pytest.mark.parametrize('reference', ['resized', 'original'])
def test_every_valid_gt_covered_and_len(coco, tmp_path, reference):
    if reference == 'resized':
        kw, rng_of = dict(valid_range=(16, 560)), (lambda k, s: (16 * 1.0, 560 * 1.0))
    else:
        ranges = [(0, 20), (10, 40), (30, 80), (60, math.inf), (100, math.inf)]
        kw = dict(reference='original', scale_ranges=ranges)
        rng_of = (lambda k, s: (ranges[k][0] * s, ranges[k][1] * s))
    ds = make(coco, tmp_path, **kw)
    pairs = items_by_pair(ds)
    total = 0
    for i in range(len(ds.dataset)):
        info = ds.dataset.get_data_info(i)
        boxes = np.array([x['bbox'] for x in info['instances']], dtype=np.float64).reshape(-1, 4)
        ignore = np.array([bool(x['ignore_flag']) for x in info['instances']], dtype=bool)
        for k, f in enumerate(FACTORS):
            ws, hs = int(info['width'] * f + 0.5), int(info['height'] * f + 0.5)
            lo, hi = rng_of(k, math.sqrt(ws / info['width'] * hs / info['height']))
            s, valid, ws, hs = expected_valid(boxes, ignore, info['width'], info['height'], f,
                                              lo, hi)
            chips = np.array(pairs.get((i, f), np.zeros((0, 4)))).reshape(-1, 4)
            if not valid.any():
                assert len(chips) == 0, (i, f)
                continue
            expected = generate_chips(s[valid], ws, hs, CHIP, STRIDE)
            np.testing.assert_allclose(chips, expected, err_msg=f'{(i, f)}')
            total += len(expected)
            fits = valid & ((s[:, 2] - s[:, 0]) <= CHIP) & ((s[:, 3] - s[:, 1]) <= CHIP)
            for b in s[fits]:
                inside = (chips[:, 0] <= b[0]) & (chips[:, 1] <= b[1]) & \
                    (chips[:, 2] >= b[2]) & (chips[:, 3] >= b[3])
                assert inside.any(), (i, f, b)
    assert len(ds) == total > 0


def test_coverage_on_synthetic(synthetic_tiny, tmp_path):
    """Same property on the synthetic benchmark (masks as RLE, mixed sizes)."""
    ds = ChipDataset(
        dataset=dict(type='CocoDataset', data_root=synthetic_tiny['data_root'],
                     ann_file=synthetic_tiny['train_ann'],
                     data_prefix=dict(img=synthetic_tiny['train_img']),
                     metainfo=dict(classes=synthetic_tiny['classes']), pipeline=[]),
        pipeline=[], chip_size=CHIP, stride=STRIDE, cache_dir=False, show_progress=False)
    pairs = items_by_pair(ds)
    n_checked = 0
    for (i, f), chips in pairs.items():
        info = ds.dataset.get_data_info(i)
        boxes = np.array([x['bbox'] for x in info['instances']], dtype=np.float64).reshape(-1, 4)
        ignore = np.array([bool(x['ignore_flag']) for x in info['instances']], dtype=bool)
        s, valid, _, _ = expected_valid(boxes, ignore, info['width'], info['height'], f, 16, 560)
        assert valid.any()
        chips = np.array(chips)
        # every valid GT whose sides fit the chip (integer windows: the annotations are integer
        # pixels of the original image, so the pixel extent test keeps only true fits)
        fits = ((np.ceil(s[:, 2:]) - np.floor(s[:, :2])) <= CHIP).all(axis=1)
        for b in s[valid & fits]:
            assert ((chips[:, :2] <= b[:2]).all(1) & (chips[:, 2:] >= b[2:]).all(1)).any()
            n_checked += 1
    assert n_checked > 0 and len(ds) == sum(len(v) for v in pairs.values())


def test_box_exactly_on_the_range_end_agrees_with_the_pipeline(tmp_path):
    """COCO box [120, 25, 31.999998..., 32] of a 300x200 image at f=0.5: in float64 its width is
    15.999999 (scale < 16, invalid), but LoadAnnotations' float32 makes x2 = 152.0 and the pipeline
    sees [60, 12.5, 76, 28.5], scale exactly 16: valid.  The dataset must agree with the pipeline:
    one chip at f=0.5, and MarkValidRange keeps the GT in it."""
    bw = 31.999998092651367
    root = str(tmp_path / 'edge')
    ann = _write_coco(root, {'e.png': (300, 200, [(120, 25, bw, 32, 0)])})
    box64 = np.array([[120, 25, 120 + bw, 57]]) * 0.5
    assert not valid_gt_mask(box64, 16, 560)[0]   # the float64 rule would drop it
    cfg = dict(type='CocoDataset', data_root=root, ann_file=ann, data_prefix=dict(img='img/'),
               metainfo=dict(classes=('thing', )), pipeline=[], serialize_data=False)
    ds = ChipDataset(dataset=cfg, pipeline=chip_pipeline(), scale_factors=(0.5, ), chip_size=CHIP,
                     stride=STRIDE, cache_dir=False, show_progress=False)
    assert len(ds) == 1
    out = ds[0]
    gt = out['data_samples'].gt_instances
    assert len(gt) == 1 and len(out['data_samples'].ignored_instances) == 0
    np.testing.assert_array_equal(gt.bboxes.tensor.numpy(), [[60, 12.5, 76, 28.5]])
    # With the range starting just above 16 both sides drop it: no item.
    ds = ChipDataset(dataset=cfg, pipeline=[], scale_factors=(0.5, ), valid_range=(16.0001, 560),
                     chip_size=CHIP, stride=STRIDE, cache_dir=False, show_progress=False)
    assert len(ds) == 0


def test_enumeration_matches_the_pipeline_on_random_boxes(tmp_path):
    """For every item the pipeline's MarkValidRange + SampleChip see a valid GT inside the chip,
    and every pipeline-valid GT (sides <= chip) of an image-scale pair lies in one of its chips."""
    rng = np.random.default_rng(5)
    images = {}
    for k in range(3):
        w, h = int(rng.integers(150, 400)), int(rng.integers(120, 300))
        anns = []
        for _ in range(6):
            bw, bh = float(rng.uniform(3, 200)), float(rng.uniform(3, 150))
            anns.append((float(rng.uniform(0, w - 2)), float(rng.uniform(0, h - 2)), bw, bh, 0))
        images[f'r{k}.png'] = (w, h, anns)
    root = str(tmp_path / 'rand')
    ann = _write_coco(root, images)
    cfg = dict(type='CocoDataset', data_root=root, ann_file=ann, data_prefix=dict(img='img/'),
               metainfo=dict(classes=('thing', )), pipeline=[], serialize_data=False)
    ds = ChipDataset(dataset=cfg, pipeline=chip_pipeline()[:4], chip_size=CHIP, stride=STRIDE,
                     cache_dir=False, show_progress=False)
    pairs = items_by_pair(ds)
    seen = set()
    for i in range(len(ds)):
        info = ds.get_chip_info(i)
        key = (info['img_idx'], info['scale_factor'])
        if key in seen:
            continue
        seen.add(key)
        res = ds.prepare_data(i)  # Load, LoadAnnotations, ResizeToChipScale, MarkValidRange
        assert res is not None
        boxes = res['gt_bboxes'].tensor.numpy().astype(np.float64)
        valid = ~res['gt_ignore_flags']
        chips = np.array(pairs[key])
        for b in boxes[valid & ((np.ceil(boxes[:, 2:]) - np.floor(boxes[:, :2])) <= CHIP).all(1)]:
            assert ((chips[:, :2] <= b[:2]).all(1) & (chips[:, 2:] >= b[2:]).all(1)).any()
    # and the pairs without items have no pipeline-valid GT that fits a chip
    for i in range(len(ds.dataset)):
        for f in FACTORS:
            if (i, f) in pairs:
                continue
            r = ds.pipeline(dict(ds.dataset.get_data_info(i), chip_scale_factor=f))
            if r is None:
                continue
            b = r['gt_bboxes'].tensor.numpy()
            fits = ~r['gt_ignore_flags'] & ((b[:, 2:] - b[:, :2]) <= CHIP).all(1)
            assert not fits.any(), (i, f)


# ------------------------------------------------------------------------------------ __getitem__
def test_getitem_boxes_inside_chip(coco, tmp_path):
    ds = make(coco, tmp_path)
    for i in range(len(ds)):
        out = ds[i]
        meta = out['data_samples'].metainfo
        h, w = out['inputs'].shape[1:]
        assert (h, w) == tuple(meta['img_shape']) and h <= CHIP and w <= CHIP
        assert meta['chip_scale_factor'] == ds.get_chip_info(i)['scale_factor']
        for inst in (out['data_samples'].gt_instances, out['data_samples'].ignored_instances):
            b = inst.bboxes.tensor
            assert ((b[:, 0] >= 0) & (b[:, 1] >= 0) & (b[:, 2] <= w) & (b[:, 3] <= h)).all()
        assert len(out['data_samples'].gt_instances) >= 1  # positive chips hold a valid GT
    # Hand check, a.png at f=1: the 60x40 box [100, 50, 160, 90] shifted by the chip origin.
    idx = [i for i in range(len(ds))
           if ds.get_chip_info(i)['img_idx'] == 0 and ds.get_chip_info(i)['scale_factor'] == 1][0]
    chip = ds.get_chip_info(idx)['chip']
    gt = ds[idx]['data_samples'].gt_instances.bboxes.tensor
    expect = torch.tensor([[100 - chip[0], 50 - chip[1], 160 - chip[0], 90 - chip[1]]])
    assert torch.allclose(gt, expect.clamp(min=0))


@pytest.mark.parametrize('poly2mask', [False, True])
def test_chip_only_resize_matches_full_resize(coco, tmp_path, poly2mask):
    """crop_to_chip=True gives the plain path's boxes, flags, masks; pixels within 1 grey level."""
    fast = make(coco, tmp_path, pipeline=chip_pipeline(True, poly2mask))
    slow = make(coco, tmp_path, pipeline=chip_pipeline(False, poly2mask))
    assert len(fast) == len(slow)
    for i in range(len(fast)):
        a, b = fast[i], slow[i]
        assert a['inputs'].shape == b['inputs'].shape
        assert (a['inputs'].int() - b['inputs'].int()).abs().max() <= 1
        for key in ('gt_instances', 'ignored_instances'):
            ia, ib = getattr(a['data_samples'], key), getattr(b['data_samples'], key)
            assert torch.equal(ia.bboxes.tensor, ib.bboxes.tensor)
            assert torch.equal(ia.labels, ib.labels)
            ma, mb = ia.masks, ib.masks
            assert type(ma) is type(mb)
            if isinstance(ma, BitmapMasks):
                np.testing.assert_array_equal(ma.masks, mb.masks)
            else:
                for pa, pb in zip(ma.masks, mb.masks):
                    for qa, qb in zip(pa, pb):
                        np.testing.assert_allclose(qa, qb)


def test_refetch_on_none(coco, tmp_path):
    skip4 = [lambda r: None if r['chip_scale_factor'] == 4 else r]
    ds = make(coco, tmp_path, pipeline=skip4)
    idx4 = [i for i in range(len(ds)) if ds.get_chip_info(i)['scale_factor'] == 4]
    assert idx4
    np.random.seed(0)
    for i in idx4:
        assert ds[i]['chip_scale_factor'] != 4
    always_none = make(coco, tmp_path, pipeline=[lambda r: None], max_refetch=2)
    with pytest.raises(Exception, match='refetch'):
        always_none[0]


# ------------------------------------------------------------------------------------ options
def test_keep_empty_gives_centre_chips(coco, tmp_path):
    ds = make(coco, tmp_path, keep_empty=True, pipeline=chip_pipeline(keep_empty=True))
    pairs = items_by_pair(ds)
    for i in (1, 2):  # crowd-only and empty images: one centre chip per factor
        assert sorted(f for (j, f) in pairs if j == i) == sorted(FACTORS)
    # c.png 160x160 at f=4 -> 640x640: chip centred at (256, 256).
    np.testing.assert_array_equal(pairs[(2, 4)][0], [256, 256, 384, 384])
    np.testing.assert_array_equal(pairs[(2, 0.25)][0], [0, 0, CHIP, CHIP])
    out = ds[[k for k in range(len(ds)) if ds.get_chip_info(k)['img_idx'] == 1][0]]
    assert len(out['data_samples'].gt_instances) == 0


def test_negative_chips_per_epoch(coco, tmp_path):
    # Proposals (original pixels) on d.png far from its GT, spread so the pool holds several chips
    # (a 5th score column is accepted); the other images have entries without proposals.
    props = {'a.png': [], 'b.png': [], 'c.png': [],
             'd.png': [[200, 10, 230, 40, 0.9], [10, 170, 40, 195, 0.8], [260, 60, 290, 90, 0.7],
                       [180, 100, 200, 130, 0.6]]}
    pfile = str(tmp_path / 'props.json')
    with open(pfile, 'w') as f:
        json.dump(props, f)
    ds = make(coco, tmp_path, neg_proposals_file=pfile, neg_chips_per_image=2,
              pipeline=chip_pipeline(keep_empty=True))
    plain = make(coco, tmp_path)
    assert ds.num_pos == len(plain) and ds.num_neg == 2 and len(ds) == len(plain) + 2
    neg = [i for i in range(len(ds)) if ds._kind[i] == 1]
    assert all(ds.get_chip_info(i)['img_idx'] == 3 for i in neg)
    pool = ds._pool_chips[ds._pool_start[3]:ds._pool_start[4]]
    assert len(pool) >= 3

    def draw(epoch):
        infos = [ds.get_chip_info(ds.encode_index(epoch, i)) for i in neg]
        assert all(x['epoch'] == epoch and x['chip_type'] == 'neg' for x in infos)
        return [tuple(x['chip']) + (x['scale_factor'], ) for x in infos]

    assert draw(0) == draw(0)                        # deterministic per epoch
    assert draw(0) == [tuple(ds.get_chip_info(i)['chip']) + (ds.get_chip_info(i)['scale_factor'], )
                       for i in neg]                 # plain indices are epoch 0
    draws = [draw(e) for e in range(8)]
    assert all(len(set(d)) == 2 for d in draws)      # the two slots hold distinct chips
    assert len(set(tuple(d) for d in draws)) > 1      # and they change between epochs
    out = ds[neg[0]]
    assert out['data_samples'].metainfo['chip_type'] == 'neg'
    # Every pool chip holds a valid-at-its-scale proposal that no positive chip of its scale holds.
    pairs = items_by_pair(plain)
    w, h = IMAGES['d.png'][:2]
    for k, chip in zip(ds._pool_scale[ds._pool_start[3]:ds._pool_start[4]], pool):
        f = FACTORS[k]
        s, valid, _, _ = expected_valid(np.array(props['d.png'], float)[:, :4], np.zeros(4, bool),
                                        w, h, f, 16, 560)
        pos = np.array(pairs.get((3, f), np.zeros((0, 4)))).reshape(-1, 4)

        def inside(b, cs):
            return ((cs[:, :2] <= b[:2]).all(1) & (cs[:, 2:] >= b[2:]).all(1)).any()

        assert any(inside(b, chip[None]) and not inside(b, pos) for b in s[valid])


def test_scale_repeats_list_each_positive_chip_k_times(coco, tmp_path):
    plain = make(coco, tmp_path)
    reps = (1, 3, 1, 2, 1)  # per factor of FACTORS
    ds = make(coco, tmp_path, scale_repeats=reps)
    assert ds.scale_repeats == reps and 'scale_repeats=(1, 3, 1, 2, 1)' in repr(ds)
    pairs, want = items_by_pair(ds), items_by_pair(plain)
    assert sorted(pairs) == sorted(want)
    for (i, f), chips in want.items():  # each chip k times, copies next to each other
        k = reps[FACTORS.index(f)]
        np.testing.assert_array_equal(pairs[(i, f)], np.repeat(np.array(chips), k, axis=0))
    # a.png: [1, 2, 1, 1] chips at factors 4, 2, 1, 0.5 (test_hand_computed_pairs) -> [1, 6, 1, 2]
    assert [len(pairs[(0, f)]) for f in (4, 2, 1, 0.5)] == [1, 6, 1, 2]
    assert len(ds) == ds.num_pos == sum(reps[FACTORS.index(f)] * len(c) for (_, f), c in
                                        want.items())
    # The same items (chip and GT) as the plain epoch, sampled with the weights.
    out = ds[1]
    assert out['data_samples'].metainfo['chip_scale_factor'] == ds.get_chip_info(1)['scale_factor']
    # None and all-ones are SNIPER's epoch.
    ones = make(coco, tmp_path, scale_repeats=(1, ) * len(FACTORS))
    np.testing.assert_array_equal(ones._chips, plain._chips)


def test_scale_repeats_leave_negative_slots_alone(coco, tmp_path):
    props = {'a.png': [], 'b.png': [], 'c.png': [], 'd.png': [[200, 10, 230, 40]]}
    pfile = str(tmp_path / 'props1.json')
    with open(pfile, 'w') as f:
        json.dump(props, f)
    kw = dict(neg_proposals_file=pfile, neg_chips_per_image=2,
              pipeline=chip_pipeline(keep_empty=True))
    plain = make(coco, tmp_path, **kw)
    ds = make(coco, tmp_path, scale_repeats=(2, ) * len(FACTORS), **kw)
    assert plain.num_neg >= 1 and ds.num_neg == plain.num_neg
    assert ds.num_pos == 2 * plain.num_pos
    neg = [i for i in range(len(ds)) if ds._kind[i] == 1]
    assert [ds.get_chip_info(i)['chip'].tolist() for i in neg] == \
        [plain.get_chip_info(i)['chip'].tolist() for i in range(len(plain)) if plain._kind[i] == 1]


def test_proposals_file_must_cover_every_image(coco, tmp_path):
    """An image without an entry, or a file matching no image, is a ValueError naming the ids and
    the file; an entry with zero proposals is fine."""
    def write(table):
        path = str(tmp_path / f'props{len(table)}.json')
        with open(path, 'w') as f:
            json.dump(table, f)
        return path

    partial = write({'a.png': [], 'd.png': [[200, 10, 230, 40]]})
    with pytest.raises(ValueError, match=r"props2\.json' has no entry for 2 of the 4 images of "
                       r'the dataset: image ids 2, 3'):
        make(coco, tmp_path, neg_proposals_file=partial, cache_dir=False)
    nothing = write({'x.png': [], 'y.png': [], 'z.png': []})
    with pytest.raises(ValueError, match=r"props3\.json'?: none of its 3 entries \(e\.g\. "
                                         r"'x\.png'"):
        make(coco, tmp_path, neg_proposals_file=nothing, cache_dir=False)
    # Keys by img_id (strings in JSON) and empty entries: fine.
    full = write({'1': [], '2': [], '3': [], '4': [[200, 10, 230, 40, 0.5]]})
    ds = make(coco, tmp_path, neg_proposals_file=full, cache_dir=False)
    assert ds.num_neg >= 1
    # Unused (neg_chips_per_image=0): not read, not checked.
    assert len(make(coco, tmp_path, neg_proposals_file=partial, neg_chips_per_image=0,
                    cache_dir=False)) == len(make(coco, tmp_path, cache_dir=False))


def test_cache_hit_and_miss(coco, tmp_path):
    a = make(coco, tmp_path)
    assert a.cache_hit is False and osp.isfile(a.cache_path)
    b = make(coco, tmp_path)
    assert b.cache_hit is True and b.cache_path == a.cache_path
    assert [b.get_chip_info(i)['chip'].tolist() for i in range(len(b))] == \
        [a.get_chip_info(i)['chip'].tolist() for i in range(len(a))]
    c = make(coco, tmp_path, valid_range=(16, 300))
    assert c.cache_hit is False and c.cache_path != a.cache_path
    d = ChipDataset(dataset=inner_cfg(coco), chip_size=CHIP, stride=16, pipeline=[],
                    cache_dir=str(tmp_path / 'cache'), show_progress=False)
    assert d.cache_hit is False and d.cache_path != a.cache_path
    e = make(coco, tmp_path, cache_dir=False)
    assert e.cache_path is None and len(e) == len(a)


def test_cache_misses_when_annotations_change(tmp_path):
    root = str(tmp_path / 'data')
    images = dict(IMAGES)
    ann = _write_coco(root, images)
    cfg = dict(type='CocoDataset', data_root=root, ann_file=ann, data_prefix=dict(img='img/'),
               metainfo=dict(classes=('thing', )), pipeline=[])
    a = ChipDataset(dataset=cfg, chip_size=CHIP, stride=STRIDE, show_progress=False)
    # default cache location: next to the annotation file
    assert osp.dirname(a.cache_path) == osp.join(root, 'chip_cache')
    images['c.png'] = (160, 160, [(40, 40, 30, 30, 0)])
    _write_coco(root, images)
    b = ChipDataset(dataset=cfg, chip_size=CHIP, stride=STRIDE, show_progress=False)
    assert b.cache_hit is False and len(b) > len(a)


def test_progress_bar_and_lazy_init(coco, tmp_path, capsys):
    ds = make(coco, tmp_path, show_progress=True, cache_dir=False, lazy_init=True)
    assert capsys.readouterr().out == ''  # nothing loaded, nothing enumerated yet
    assert not ds._fully_initialized and not ds.dataset._fully_initialized
    assert ds.metainfo['classes'] == ('thing', )
    assert len(ds) == len(make(coco, tmp_path, cache_dir=False))
    assert '4/4' in capsys.readouterr().out
    assert DATASETS.get('ChipDataset') is ChipDataset


@pytest.mark.parametrize('kw, key', [
    (dict(valid_range=(100, 10)), 'valid_range'),
    (dict(chip_size=0), 'chip_size'),
    (dict(chip_size=-512), 'chip_size'),
    (dict(stride=CHIP), 'stride'),
    (dict(reference='both'), 'reference'),
    (dict(reference='original', scale_ranges=[(0, 80), (40, 160)]), 'scale_ranges'),
    (dict(reference='original'), 'scale_ranges'),
    (dict(scale_ranges=[(0, 80)] * 5), 'scale_ranges'),
    (dict(scale_factors=(2, -1)), 'scale_factors'),
    (dict(scale_factors=()), 'scale_factors'),
    (dict(neg_chips_per_image=-1), 'neg_chips_per_image'),
    (dict(cache_dir=3), 'cache_dir'),
    (dict(neg_proposals_file='/no/such/props.pkl'), 'neg_proposals_file'),
    (dict(neg_proposals_file=3), 'neg_proposals_file'),
    (dict(scale_repeats=(1, 2)), 'scale_repeats'),
    (dict(scale_repeats=(1, 1, 0, 1, 1)), r'scale_repeats\[2\]'),
    (dict(scale_repeats=(1, 1, 1.5, 1, 1)), r'scale_repeats\[2\]'),
    (dict(scale_repeats='11211'), 'scale_repeats'),
])
def test_bad_config(coco, kw, key):
    kw = {'chip_size': CHIP, 'stride': STRIDE, **kw}
    with pytest.raises(ValueError, match=key):
        ChipDataset(dataset=inner_cfg(coco), pipeline=[], lazy_init=True, **kw)


# ------------------------------------------------------------------------------------ transform
def _results(rng, h=37, w=53, poly=False):
    boxes = np.array([[3, 4, 20, 30], [10, 10, 52, 36], [0, 0, 5, 5]], dtype=np.float32)
    if poly:
        masks = PolygonMasks([[np.array([b[0], b[1], b[2], b[1], b[2], b[3]], dtype=np.float64)]
                              for b in boxes], h, w)
    else:
        masks = BitmapMasks(rng.integers(0, 2, (3, h, w), dtype=np.uint8), h, w)
    return dict(img=rng.integers(0, 256, (h, w, 3), dtype=np.uint8), img_shape=(h, w),
                gt_bboxes=boxes, gt_bboxes_labels=np.array([0, 0, 0]),
                gt_ignore_flags=np.zeros(3, bool), gt_masks=masks,
                gt_seg_map=rng.integers(0, 5, (h, w), dtype=np.uint8),
                gt_keypoints=np.array([[[4, 5, 2]], [[50, 30, 1]], [[1, 1, 0]]], np.float32))


@pytest.mark.parametrize('factor', [4, 2, 1.5, 1, 0.5, 0.25, 0.37])
@pytest.mark.parametrize('poly', [False, True])
def test_resize_to_chip_scale_equals_mmdet_resize(factor, poly):
    rng = np.random.default_rng(1)
    ws, hs = int(53 * factor + 0.5), int(37 * factor + 0.5)
    ours = ResizeToChipScale()(dict(_results(rng, poly=poly), chip_scale_factor=factor))
    ref = Resize(scale=(ws, hs), keep_ratio=False)(_results(np.random.default_rng(1), poly=poly))
    np.testing.assert_array_equal(ours['img'], ref['img'])
    assert ours['img_shape'] == ref['img_shape'] == (hs, ws)
    assert ours['scale_factor'] == ref['scale_factor'] == (ws / 53, hs / 37)
    np.testing.assert_array_equal(ours['gt_bboxes'], ref['gt_bboxes'])
    np.testing.assert_array_equal(ours['gt_seg_map'], ref['gt_seg_map'])
    np.testing.assert_array_equal(ours['homography_matrix'], ref['homography_matrix'])
    np.testing.assert_array_equal(ours['gt_masks'].to_ndarray(), ref['gt_masks'].to_ndarray())
    np.testing.assert_allclose(ours['gt_keypoints'][..., :2],
                               np.array([[[4, 5]], [[50, 30]], [[1, 1]]]) * (ws / 53, hs / 37),
                               rtol=1e-6)
    np.testing.assert_array_equal(ours['gt_keypoints'][..., 2], [[2], [1], [0]])


@pytest.mark.parametrize('factor', [4, 2, 1.5, 0.5])
def test_resize_to_chip_scale_chip_window(factor):
    """With a chip: window pixels within 1 grey level, masks/seg identical there, rest zero."""
    rng = np.random.default_rng(2)
    ws, hs = int(53 * factor + 0.5), int(37 * factor + 0.5)
    chip = np.array([ws // 3, hs // 4, ws // 3 + 24, hs // 4 + 300], dtype=np.float32)
    ours = ResizeToChipScale()(dict(_results(rng), chip_scale_factor=factor, chip=chip.copy()))
    ref = Resize(scale=(ws, hs), keep_ratio=False)(_results(np.random.default_rng(2)))
    x1, y1, x2, y2 = ours['chip_resized_window']
    assert (x1, y1, x2, y2) == (ws // 3, hs // 4, min(ws // 3 + 24, ws), hs)  # clipped to image
    assert ours['img'].shape == ref['img'].shape
    diff = np.abs(ours['img'].astype(int) - ref['img'].astype(int))
    assert diff[y1:y2, x1:x2].max() <= 1
    outside = np.ones(ours['img'].shape[:2], bool)
    outside[y1:y2, x1:x2] = False
    assert (ours['img'][outside] == 0).all()
    np.testing.assert_array_equal(ours['gt_masks'].masks[:, y1:y2, x1:x2],
                                  ref['gt_masks'].masks[:, y1:y2, x1:x2])
    np.testing.assert_array_equal(ours['gt_seg_map'][y1:y2, x1:x2], ref['gt_seg_map'][y1:y2, x1:x2])
    np.testing.assert_array_equal(ours['gt_bboxes'], ref['gt_bboxes'])
    np.testing.assert_array_equal(ours['chip'], chip)


def test_resize_to_chip_scale_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(KeyError, match='chip_scale_factor'):
        ResizeToChipScale()(_results(rng))
    for bad in (0, -1, float('nan'), float('inf'), 'x'):
        with pytest.raises(ValueError, match='chip_scale_factor'):
            ResizeToChipScale()(dict(_results(rng), chip_scale_factor=bad))
    with pytest.raises(ValueError, match='crop_to_chip'):
        ResizeToChipScale(crop_to_chip='yes')
    with pytest.raises(ValueError, match='interpolation'):
        ResizeToChipScale(interpolation='magic')


def test_epoch_encoded_indices(coco, tmp_path):
    """idx = epoch * len + item (ChipDataset "Epochs"); plain and negative indices are epoch 0."""
    ds = make(coco, tmp_path)
    n = len(ds)
    assert ds.decode_index(0) == (0, 0) and ds.decode_index(n - 1) == (0, n - 1)
    assert ds.decode_index(n) == (1, 0) and ds.decode_index(3 * n + 2) == (3, 2)
    assert ds.decode_index(np.int64(n + 1)) == (1, 1)
    assert ds.decode_index(-1) == (0, n - 1) and ds.decode_index(-n) == (0, 0)
    assert ds.encode_index(2, 5) == 2 * n + 5 and ds.encode_index(0, 4) == 4
    assert all(ds.decode_index(ds.encode_index(e, i)) == (e, i) for e in (0, 1, 7) for i in
               range(n))
    with pytest.raises(IndexError):
        ds.decode_index(-n - 1)
    with pytest.raises(IndexError):
        ds.encode_index(0, n)
    with pytest.raises(ValueError, match='epoch'):
        ds.encode_index(-1, 0)
    with pytest.raises(TypeError):
        ds.decode_index(1.5)
    # Positive items are the same in every epoch, through get_data_info and the pipeline.
    for i in (0, n - 1):
        a, b = ds.get_data_info(i), ds.get_data_info(ds.encode_index(4, i))
        assert a['img_path'] == b['img_path'] and a['chip_scale_factor'] == b['chip_scale_factor']
        np.testing.assert_array_equal(a['chip'], b['chip'])
        assert ds.get_chip_info(ds.encode_index(4, i))['epoch'] == 4
        assert torch.equal(ds[i]['inputs'], ds[ds.encode_index(4, i)]['inputs'])


def test_training_pipeline_must_apply_the_range(coco, tmp_path):
    """No silent switch-off: a packing pipeline without MarkValidRange, or with another range,
    is refused at build time; an explicit (0, 'inf') range needs none."""
    no_mark = [t for t in chip_pipeline() if t['type'] != 'MarkValidRange']
    with pytest.raises(ValueError, match='no MarkValidRange.*valid_range=.*inf'):
        make(coco, tmp_path, pipeline=no_mark)
    with pytest.raises(ValueError, match=r'disagrees.*valid_range=\(16.0, 560.0\)'):
        make(coco, tmp_path, pipeline=chip_pipeline(valid_range=(16, 500)))
    with pytest.raises(ValueError, match="reference='original'.*unfinished"):
        make(coco, tmp_path, reference='original', scale_ranges=[(0, 80)] * 5,
             pipeline=chip_pipeline())
    ds = make(coco, tmp_path, pipeline=no_mark, valid_range=(0, 'inf'))
    assert len(ds) > 0
    # a pipeline that packs nothing (enumeration, browsing) is not checked
    assert len(make(coco, tmp_path, pipeline=no_mark[:3])) == len(make(coco, tmp_path))
