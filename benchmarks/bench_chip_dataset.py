"""Benchmark: ChipDataset enumeration and ResizeToChipScale's chip-only resize.

1. Enumerating every (image, scale, chip) of N COCO-like images (640x480, 7 boxes log-uniform in
   8..300 px, ISN factors {4, 2, 1, 0.5, 0.25}, chip 512, stride 32), against the baseline of
   building mmdet's CocoDataset and looping once over ``get_data_info`` (what any wrapper pays),
   and reloading the enumeration from the disk cache.
2. One item at factor 4 of a 640x480 image with 10 bitmap masks: ``ResizeToChipScale`` (chip-only
   resize) + ``SampleChip`` against mmdet's ``Resize`` to the full 2560x1920 + ``SampleChip``.
"""
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import measure_ms, print_table  # noqa: E402

from mmdet.datasets.transforms import Resize  # noqa: E402
from mmdet.registry import DATASETS  # noqa: E402
from mmdet.structures.mask import BitmapMasks  # noqa: E402

import mmdet_scalenorm  # noqa: E402,F401
from mmdet_scalenorm.datasets import ChipDataset  # noqa: E402
from mmdet_scalenorm.datasets.transforms import ResizeToChipScale, SampleChip  # noqa: E402

N_IMAGES = 300


def write_coco(path, n, seed=0):
    rng = np.random.default_rng(seed)
    coco = dict(images=[], annotations=[], categories=[dict(id=1, name='thing')])
    aid = 1
    for i in range(1, n + 1):
        coco['images'].append(dict(id=i, file_name=f'{i:06d}.jpg', width=640, height=480))
        for _ in range(7):
            s = float(np.exp(rng.uniform(np.log(8), np.log(300))))
            ar = float(np.exp(rng.uniform(-0.5, 0.5)))
            w, h = min(s * ar, 639), min(s / ar, 479)
            x, y = rng.uniform(0, 640 - w), rng.uniform(0, 480 - h)
            coco['annotations'].append(dict(id=aid, image_id=i, category_id=1, bbox=[x, y, w, h],
                                            area=w * h, iscrowd=0))
            aid += 1
    with open(path, 'w') as f:
        json.dump(coco, f)


def inner(ann):
    return dict(type='CocoDataset', ann_file=ann, data_prefix=dict(img=''),
                metainfo=dict(classes=('thing', )), pipeline=[])


def once_s(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def bench_enumeration(tmp):
    ann = os.path.join(tmp, 'ann.json')
    write_coco(ann, N_IMAGES)

    def baseline():
        ds = DATASETS.build(inner(ann))
        for i in range(len(ds)):
            ds.get_data_info(i)
        return ds

    def ours(cache_dir):
        return ChipDataset(dataset=inner(ann), pipeline=[], cache_dir=cache_dir,
                           show_progress=False)

    t_base, _ = once_s(baseline)
    t_enum, ds = once_s(lambda: ours(False))
    cache = os.path.join(tmp, 'cache')
    ours(cache)
    t_hit, ds_hit = once_s(lambda: ours(cache))
    assert ds_hit.cache_hit and len(ds_hit) == len(ds)
    per_pair_ms = (t_enum - t_base) / (N_IMAGES * 5) * 1e3
    print_table(
        f'ChipDataset enumeration, {N_IMAGES} images 640x480 x 5 scales, chip 512 '
        f'({len(ds)} chips)',
        ['what', 'ours (s)', 'CocoDataset + get_data_info loop (s)', 'ratio'],
        [['enumerate (no cache)', t_enum, t_base, t_enum / t_base],
         ['reload from cache', t_hit, t_base, t_hit / t_base],
         ['enumeration ms per image-scale (minus baseline)', per_pair_ms, '-', '-']])


def bench_resize():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    masks = rng.integers(0, 2, (10, 480, 640), dtype=np.uint8)
    boxes = np.tile(np.array([[100, 100, 140, 140]], np.float32), (10, 1))
    chip = np.array([352, 352, 864, 864], np.float32)
    sample = SampleChip(chip_size=512, stride=32)

    def results():
        return dict(img=img.copy(), img_shape=img.shape[:2], gt_bboxes=boxes.copy(),
                    gt_bboxes_labels=np.zeros(10, np.int64), gt_ignore_flags=np.zeros(10, bool),
                    gt_masks=BitmapMasks(masks.copy(), 480, 640), chip=chip.copy(),
                    chip_scale_factor=4.0)

    ours_t = ResizeToChipScale()
    base_t = Resize(scale=(2560, 1920), keep_ratio=False)
    rows = []
    for name, with_masks in (('image + boxes', False), ('image + boxes + 10 bitmap masks', True)):
        def prep():
            r = results()
            if not with_masks:
                r.pop('gt_masks')
            return r
        t_ours = measure_ms(lambda: sample(ours_t(prep())), repeat=10, warmup=2)
        t_base = measure_ms(lambda: sample(base_t(prep())), repeat=10, warmup=2)
        rows.append([name, t_ours, t_base, t_ours / t_base])
    print_table('One chip at factor 4 of a 640x480 image: ResizeToChipScale (chip-only) + '
                'SampleChip vs mmdet Resize (full 2560x1920) + SampleChip',
                ['inputs', 'ours (ms)', 'mmdet Resize (ms)', 'ratio'], rows)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        bench_enumeration(tmp)
    bench_resize()


if __name__ == '__main__':
    main()
