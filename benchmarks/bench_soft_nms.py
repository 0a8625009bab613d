"""Benchmark: class-parallel soft-NMS (SNIP §6.1 merge) vs mmcv's two ways of doing it.

Data: the merge step of a 5-scale TTA, 5 x 1000 detections of 80 classes on a 1333x800 image,
Gaussian soft-NMS (sigma 0.5, min_score 1e-3).  Baselines measured in the same run on the same data:
* ``mmcv.ops.batched_nms`` with ``nms_cfg=dict(type='soft_nms', ...)`` (one O(N²) soft-NMS over all
  classes via the class-offset trick; what ``DetTTAModel`` does with a soft_nms config);
* a per-class loop over ``mmcv.ops.soft_nms``.
Run with 1 thread (stable numbers) and with the default thread count; CUDA rows when available.
"""
import os
import sys

import torch
from mmcv.ops import batched_nms, soft_nms

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import measure_ms, print_table  # noqa: E402

from mmdet_scalenorm.ops import batched_soft_nms  # noqa: E402

CFG = dict(iou_threshold=0.3, sigma=0.5, min_score=1e-3, method='gaussian')


def make_dets(n_scales=5, per_scale=1000, num_classes=80, seed=0):
    """Detections clustered around objects, as a detector over 5 scales produces them."""
    g = torch.Generator().manual_seed(seed)
    n_obj = 300
    ctr = torch.rand(n_obj, 2, generator=g) * torch.tensor([1333., 800.])
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


def per_class_mmcv(boxes, scores, labels):
    kept, sc = [], []
    for c in torch.unique(labels):
        m = (labels == c).nonzero()[:, 0]
        d, k = soft_nms(boxes[m], scores[m], **CFG)
        kept.append(m[k])
        sc.append(d[:, 4])
    sc, o = torch.cat(sc).sort(descending=True)
    return torch.cat(kept)[o], sc


def main():
    boxes, scores, labels = make_dets()
    rows = []
    for threads in (1, torch.get_num_threads()):
        torch.set_num_threads(threads)
        ours = measure_ms(lambda: batched_soft_nms(boxes, scores, labels, **CFG), repeat=10)
        one = measure_ms(lambda: batched_nms(boxes, scores, labels, dict(type='soft_nms', **CFG)),
                         repeat=3, warmup=1)
        loop = measure_ms(lambda: per_class_mmcv(boxes, scores, labels), repeat=10)
        rows.append([f'cpu, {threads} thread(s)', ours, one, one / ours, loop, loop / ours])
    if torch.cuda.is_available():
        b, s, l = boxes.cuda(), scores.cuda(), labels.cuda()
        ours = measure_ms(lambda: batched_soft_nms(b, s, l, **CFG), repeat=10)
        # mmcv's soft_nms is CPU-only: its CUDA baselines include the copies to the CPU and back
        one = measure_ms(lambda: batched_nms(b, s, l, dict(type='soft_nms', **CFG)), repeat=3,
                         warmup=1)
        loop = measure_ms(lambda: per_class_mmcv(b, s, l), repeat=10)
        rows.append([f'cuda ({torch.cuda.get_device_name(0)})', ours, one, one / ours, loop,
                     loop / ours])
    # the same kept set as the per-class mmcv loop (sanity, not timing)
    _, keep = batched_soft_nms(boxes, scores, labels, **CFG)
    ref_keep, _ = per_class_mmcv(boxes, scores, labels)
    same = set(keep.tolist()) == set(ref_keep.tolist())
    print_table(
        f'Gaussian soft-NMS, 5 scales x 1000 dets, 80 classes (kept {keep.numel()}, '
        f'same kept set as per-class mmcv: {same})',
        ['device', 'ours ms', 'mmcv batched_nms(soft_nms) ms', 'speed-up',
         'mmcv per-class soft_nms loop ms', 'speed-up'], rows)


if __name__ == '__main__':
    main()
