"""Benchmark: class-aware soft-NMS (SNIP §6.1 merge) vs mmcv's two ways of doing it.

Data: the merge step of a 5-scale TTA, 5 x 1000 detections of 80 classes on a 1333x800 image,
Gaussian soft-NMS (sigma 0.5, min_score 1e-3), two data sets:
* ``clustered``: detections jittered around 300 objects (many overlaps: soft-NMS drops many boxes);
* ``uniform``: boxes placed uniformly at random (few overlaps: almost nothing is dropped, so one
  O(N²) soft-NMS over all 5000 boxes really does N² work).
Rows, measured in the same run on the same data, 1 CPU thread, median of repeats:
* ours, ``backend='mmcv'`` (the CPU default: mmcv's kernel called directly per class);
* ours, ``backend='torch'`` (the vectorised path used for CUDA tensors, run on the CPU; for
  information);
* ``mmcv.ops.batched_nms`` with ``nms_cfg=dict(type='soft_nms', ...)`` (one O(N²) soft-NMS over
  all classes via the class-offset trick; what ``DetTTAModel`` does with a soft_nms config);
* a Python loop over classes calling ``mmcv.ops.soft_nms``.
Speed-ups are baseline time / row time (> 1: the row is faster).  CUDA rows when available.
"""
import os
import sys

import torch
from mmcv.ops import batched_nms, soft_nms

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import measure_ms, print_table  # noqa: E402

from mmdet_scalenorm.ops import batched_soft_nms  # noqa: E402

CFG = dict(iou_threshold=0.3, sigma=0.5, min_score=1e-3, method='gaussian')
IMG_WH = torch.tensor([1333., 800.])


def make_clustered(n_scales=5, per_scale=1000, num_classes=80, seed=0):
    """Detections clustered around objects, as a detector over 5 scales produces them."""
    g = torch.Generator().manual_seed(seed)
    n_obj = 300
    ctr = torch.rand(n_obj, 2, generator=g) * IMG_WH
    size = torch.exp(torch.rand(n_obj, 2, generator=g) * 5) + 4  # 5..150 px
    obj_label = torch.randint(0, num_classes, (n_obj,), generator=g)
    n = n_scales * per_scale
    which = torch.randint(0, n_obj, (n,), generator=g)
    jitter = 1 + 0.15 * torch.randn(n, 4, generator=g)
    c, s = ctr[which], size[which]
    boxes = torch.cat([c - s / 2 * jitter[:, :2], c + s / 2 * jitter[:, 2:]], 1)
    scores = torch.rand(n, generator=g) * 0.95 + 0.05  # mmdet's rcnn score_thr=0.05
    # a fifth of the detections carry a wrong class, as real detectors do
    wrong = torch.rand(n, generator=g) < 0.2
    labels = torch.where(wrong, torch.randint(0, num_classes, (n,), generator=g), obj_label[which])
    return boxes.float(), scores.float(), labels


def make_uniform(n_scales=5, per_scale=1000, num_classes=80, seed=0):
    """Boxes placed uniformly at random on the image, sides 8..300 px (log-uniform)."""
    g = torch.Generator().manual_seed(seed)
    n = n_scales * per_scale
    wh = torch.exp(torch.rand(n, 2, generator=g) * (5.7 - 2.08) + 2.08)  # e^2.08=8, e^5.7=300
    xy = torch.rand(n, 2, generator=g) * (IMG_WH - wh).clamp(min=1)
    boxes = torch.cat([xy, xy + wh], 1)
    scores = torch.rand(n, generator=g) * 0.95 + 0.05
    labels = torch.randint(0, num_classes, (n,), generator=g)
    return boxes.float(), scores.float(), labels


def per_class_mmcv(boxes, scores, labels):
    kept, sc = [], []
    for c in torch.unique(labels):
        m = (labels == c).nonzero()[:, 0]
        d, k = soft_nms(boxes[m], scores[m], **CFG)
        kept.append(m[k])
        sc.append(d[:, 4])
    sc, o = torch.cat(sc).sort(descending=True)
    return torch.cat(kept)[o], sc


def same_as_mmcv(keep, dets, ref_keep, ref_scores):
    got = dict(zip(keep.tolist(), dets[:, 4].tolist()))
    ref = dict(zip(ref_keep.tolist(), ref_scores.tolist()))
    return set(got) == set(ref) and all(abs(got[k] - v) <= 1e-4 for k, v in ref.items())


def bench_data(name, boxes, scores, labels, device='cpu'):
    b, s, l = boxes.to(device), scores.to(device), labels.to(device)
    ref_keep, ref_scores = per_class_mmcv(boxes, scores, labels)
    one = measure_ms(lambda: batched_nms(b, s, l, dict(type='soft_nms', **CFG)), repeat=3,
                     warmup=1)
    loop = measure_ms(lambda: per_class_mmcv(b, s, l), repeat=15)
    tag = f'{name}, {device}'
    rows = []
    backends = ('mmcv', 'torch') if device == 'cpu' else ('torch', 'mmcv')
    for backend in backends:
        ours = measure_ms(lambda: batched_soft_nms(b, s, l, **CFG, backend=backend), repeat=15)
        dets, keep = batched_soft_nms(b, s, l, **CFG, backend=backend)
        ok = same_as_mmcv(keep.cpu(), dets.cpu(), ref_keep, ref_scores)
        default = ' (default)' if backend == backends[0] else ''
        rows.append([tag, f"ours, backend='{backend}'{default}", ours, one / ours, loop / ours,
                     f'{keep.numel()} / {ok}'])
    rows.append([tag, 'mmcv batched_nms(soft_nms cfg)', one, 1.0, loop / one, ''])
    rows.append([tag, 'mmcv.ops.soft_nms per-class loop', loop, one / loop, 1.0,
                 f'{ref_keep.numel()} / True'])
    return rows


def main():
    torch.set_num_threads(1)
    data = [('clustered', make_clustered()), ('uniform', make_uniform())]
    rows = []
    for name, (boxes, scores, labels) in data:
        rows += bench_data(name, boxes, scores, labels)
    if torch.cuda.is_available():
        # mmcv's soft_nms is CPU-only: its CUDA rows include the copies to the CPU and back
        for name, (boxes, scores, labels) in data:
            rows += bench_data(name, boxes, scores, labels, device='cuda')
    print_table(
        'Gaussian soft-NMS, 5 scales x 1000 dets, 80 classes, 1 CPU thread, median ms '
        '(speed-up = baseline ms / row ms)',
        ['data, device', 'implementation', 'ms', 'speed-up vs batched_nms',
         'speed-up vs per-class loop', 'kept / same as per-class mmcv'], rows)


if __name__ == '__main__':
    main()
