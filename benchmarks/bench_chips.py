"""Chip generation (SNIP §6.2 / SNIPER greedy cover): ms per image-scale and chip count.

Scenes: a 2000x1400 image with 30 boxes, one CPU thread; SNIPER's chip 512 (box sides 8..400 px)
and ISN's chip 576 (box sides 8..576 px, so some boxes need the candidate windows snapped to them).
There is no mmdet/mmcv chip generator, so the baseline is the plain loop-based greedy over the same
candidate windows (Python loops over windows and boxes), timed in the same run.  Figures are medians
over several random scenes; chips are averaged.  Goal: < 2 ms per image-scale, never more chips
than the plain greedy.
"""
import os

os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('MKL_NUM_THREADS', '1')

import math  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import measure_ms, print_table  # noqa: E402

from mmdet_scalenorm.chips import generate_chips  # noqa: E402

IMG_W, IMG_H, STRIDE, N_BOXES, N_SCENES = 2000, 1400, 32, 30, 8
SETTINGS = (('SNIPER chip 512, sides 8..400', 512, 400), ('ISN chip 576, sides 8..576', 576, 576))


def loop_starts(los, his, extent, chip, stride):
    """Candidate starts along one axis (grid, border, snapped to boxes the grid misses), loops."""
    pad = max(extent, chip)
    grid = list(range(0, pad - chip + 1, stride))
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


def loop_greedy(boxes, img_w, img_h, chip, stride):
    """Plain greedy cover with explicit loops over candidate windows (the baseline)."""
    todo = [b for b in boxes if 0 < b[2] - b[0] <= chip and 0 < b[3] - b[1] <= chip]
    xs, x2s = loop_starts([b[0] for b in todo], [b[2] for b in todo], img_w, chip, stride)
    ys, y2s = loop_starts([b[1] for b in todo], [b[3] for b in todo], img_h, chip, stride)
    todo = [(b[0], b[1], x2, y2) for b, x2, y2 in zip(todo, x2s, y2s)]
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


def make_scene(seed, max_side):
    """30 boxes with log-uniform sides 8..max_side px, uniformly placed inside the image."""
    rng = np.random.default_rng(seed)
    wh = np.exp(rng.uniform(np.log(8), np.log(max_side), size=(N_BOXES, 2)))
    xy = rng.uniform(0, 1, size=(N_BOXES, 2)) * (np.array([IMG_W, IMG_H]) - wh)
    return np.concatenate([xy, xy + wh], axis=1).astype(np.float32)


def bench(title, chip, max_side):
    scenes = [make_scene(s, max_side) for s in range(N_SCENES)]
    t_base, t_ours, t_plain = [], [], []
    n_base, n_ours, n_plain = [], [], []
    for boxes in scenes:
        base = loop_greedy(boxes.tolist(), IMG_W, IMG_H, chip, STRIDE)
        n_base.append(len(base))
        n_ours.append(len(generate_chips(boxes, IMG_W, IMG_H, chip, STRIDE)))
        n_plain.append(len(generate_chips(boxes, IMG_W, IMG_H, chip, STRIDE, prune=False)))
        assert n_ours[-1] <= n_base[-1] and n_plain[-1] == n_base[-1]
        t_base.append(measure_ms(lambda: loop_greedy(boxes.tolist(), IMG_W, IMG_H, chip, STRIDE),
                                 repeat=3, warmup=1))
        t_ours.append(measure_ms(lambda: generate_chips(boxes, IMG_W, IMG_H, chip, STRIDE),
                                 repeat=50, warmup=5))
        t_plain.append(measure_ms(
            lambda: generate_chips(boxes, IMG_W, IMG_H, chip, STRIDE, prune=False),
            repeat=50, warmup=5))
    base_ms = float(np.median(t_base))
    rows = []
    for name, ts, ns in (('loop greedy (baseline)', t_base, n_base),
                         ('generate_chips, prune=False', t_plain, n_plain),
                         ('generate_chips (default, pruned)', t_ours, n_ours)):
        ms = float(np.median(ts))
        rows.append([name, ms, float(np.mean(ns)), f'{max(ns)}', base_ms / ms])
    print_table(f'Chip generation, {title}: {IMG_W}x{IMG_H} image, {N_BOXES} boxes, stride '
                f'{STRIDE}, 1 thread, median of {N_SCENES} scenes',
                ['method', 'ms / image-scale', 'chips (mean)', 'chips (max)',
                 'speed-up vs baseline'], rows)


def main():
    torch.set_num_threads(1)
    for title, chip, max_side in SETTINGS:
        bench(title, chip, max_side)


if __name__ == '__main__':
    main()
