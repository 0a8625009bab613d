"""Chip generation (SNIP §6.2 / SNIPER greedy cover): ms per image-scale and chip count.

Scene (issue 3): a 2000x1400 image with 30 boxes, chip 512, stride 32, one CPU thread.  There is no
mmdet/mmcv chip generator, so the baseline is the plain loop-based greedy over the same candidate
windows (Python loops over windows and boxes), timed in the same run.  Figures are medians over
several random scenes; chips are averaged.  Goal: < 2 ms per image-scale, never more chips than the
plain greedy.
"""
import os

os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('MKL_NUM_THREADS', '1')

import sys  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import measure_ms, print_table  # noqa: E402

from mmdet_scalenorm.chips import generate_chips  # noqa: E402

IMG_W, IMG_H, CHIP, STRIDE, N_BOXES, N_SCENES = 2000, 1400, 512, 32, 30, 8


def loop_greedy(boxes, img_w, img_h, chip, stride):
    """Plain greedy cover with explicit loops over candidate windows (the baseline)."""
    pad_w, pad_h = max(img_w, chip), max(img_h, chip)
    xs = list(range(0, pad_w - chip + 1, stride))
    if xs[-1] != pad_w - chip:
        xs.append(pad_w - chip)
    ys = list(range(0, pad_h - chip + 1, stride))
    if ys[-1] != pad_h - chip:
        ys.append(pad_h - chip)
    todo = [tuple(b) for b in boxes
            if 0 < b[2] - b[0] <= chip - stride and 0 < b[3] - b[1] <= chip - stride]
    chips = []
    while todo:
        best, best_n = None, 0
        for x in xs:
            for y in ys:
                n = 0
                for b in todo:
                    if x <= b[0] and y <= b[1] and b[2] <= x + chip and b[3] <= y + chip:
                        n += 1
                if n > best_n:
                    best, best_n = (x, y), n
        x, y = best
        chips.append((x, y, x + chip, y + chip))
        todo = [b for b in todo
                if not (x <= b[0] and y <= b[1] and b[2] <= x + chip and b[3] <= y + chip)]
    return chips


def make_scene(seed):
    """30 boxes with log-uniform sides 8..400 px, uniformly placed inside the image."""
    rng = np.random.default_rng(seed)
    wh = np.exp(rng.uniform(np.log(8), np.log(400), size=(N_BOXES, 2)))
    xy = rng.uniform(0, 1, size=(N_BOXES, 2)) * (np.array([IMG_W, IMG_H]) - wh)
    return np.concatenate([xy, xy + wh], axis=1).astype(np.float32)


def main():
    torch.set_num_threads(1)
    scenes = [make_scene(s) for s in range(N_SCENES)]
    rows = []
    t_base, t_ours, t_plain = [], [], []
    n_base, n_ours, n_plain = [], [], []
    for boxes in scenes:
        base = loop_greedy(boxes.tolist(), IMG_W, IMG_H, CHIP, STRIDE)
        n_base.append(len(base))
        n_ours.append(len(generate_chips(boxes, IMG_W, IMG_H, CHIP, STRIDE)))
        n_plain.append(len(generate_chips(boxes, IMG_W, IMG_H, CHIP, STRIDE, prune=False)))
        assert n_ours[-1] <= n_base[-1] and n_plain[-1] == n_base[-1]
        t_base.append(measure_ms(lambda: loop_greedy(boxes.tolist(), IMG_W, IMG_H, CHIP, STRIDE),
                                 repeat=3, warmup=1))
        t_ours.append(measure_ms(lambda: generate_chips(boxes, IMG_W, IMG_H, CHIP, STRIDE),
                                 repeat=50, warmup=5))
        t_plain.append(measure_ms(
            lambda: generate_chips(boxes, IMG_W, IMG_H, CHIP, STRIDE, prune=False),
            repeat=50, warmup=5))
    base_ms = float(np.median(t_base))
    for name, ts, ns in (('loop greedy (baseline)', t_base, n_base),
                         ('generate_chips, prune=False', t_plain, n_plain),
                         ('generate_chips (default, pruned)', t_ours, n_ours)):
        ms = float(np.median(ts))
        rows.append([name, ms, float(np.mean(ns)), f'{max(ns)}', base_ms / ms])
    print_table(f'Chip generation, {IMG_W}x{IMG_H} image, {N_BOXES} boxes, chip {CHIP}, '
                f'stride {STRIDE}, 1 thread, median of {N_SCENES} scenes',
                ['method', 'ms / image-scale', 'chips (mean)', 'chips (max)',
                 'speed-up vs baseline'], rows)


if __name__ == '__main__':
    main()
