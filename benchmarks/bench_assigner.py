"""Assigner / sampler overhead of the SNIP §6.1 training rule against mmdet's own components.

* ``ScaleAwareMaxIoUAssigner`` vs ``MaxIoUAssigner`` (RPN settings) on 200k anchors x 50 GT, plus
  10 ignored (invalid) GT that the baseline gets too (with its default ``ignore_iof_thr=-1`` it
  does not look at them). Goal: our time < 1.15x the baseline's. Ignored GT are either
  'random' boxes (4-400 px sides: the worst case for the area prefilter) or 'isn' ones (half
  below 16 px, half above 560 px: what MarkValidRange((16, 560)) actually ignores) or 'tiny'
  ones (all 10 below 16 px). Rows marked 'iof' switch on the small-prior containment rule
  (``invalid_iof_thr=0.5, small_prior_max_scale=64``); 'fpn anchors' rows use the real RPN anchor
  grid of a 1333x800 image (strides 4-64, 3 ratios, ~268k anchors, most of them <= 64 px, the
  worst case for that rule) instead of random boxes.
* ``ValidRangeSampler((16, 560))`` vs ``RandomSampler`` (R-CNN settings: 512 RoIs out of 2000
  proposals + GT).

Usage: python benchmarks/bench_assigner.py [--device cuda] [--repeat N] [--threads T]
(CPU runs use 1 torch thread by default: steadier ratios on a shared machine.)
"""
import argparse
import os
import sys

import torch
from mmengine.structures import InstanceData

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import measure_ms, print_table  # noqa: E402

from mmdet.models.task_modules.assigners import MaxIoUAssigner  # noqa: E402
from mmdet.models.task_modules.samplers import RandomSampler  # noqa: E402

from mmdet_scalenorm.models.task_modules.assigners import ScaleAwareMaxIoUAssigner  # noqa: E402
from mmdet_scalenorm.models.task_modules.samplers import ValidRangeSampler  # noqa: E402

RPN = dict(pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.3, match_low_quality=True,
           ignore_iof_thr=-1)
RCNN = dict(pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5, match_low_quality=False,
            ignore_iof_thr=-1)


def paired_ms(fn_ours, fn_base, repeat, rounds=3):
    """Interleaved timing (ours, base, ours, base ...): the best median of each over ``rounds``,
    so load from other processes hits both sides alike."""
    ours, base = [], []
    for _ in range(rounds):
        ours.append(measure_ms(fn_ours, repeat=repeat, warmup=1))
        base.append(measure_ms(fn_base, repeat=repeat, warmup=1))
    return min(ours), min(base)


def boxes(gen, n, img=(1333, 800), min_side=4, max_side=400):
    xy = torch.rand(n, 2, generator=gen) * torch.tensor(img)
    wh = torch.rand(n, 2, generator=gen) * (max_side - min_side) + min_side
    return torch.cat([xy, xy + wh], dim=1)


def fpn_anchors(img=(1333, 800)):
    """The RPN anchors of mmdet's Faster R-CNN FPN config for one ``img`` (w, h) image."""
    from mmdet.models.task_modules.prior_generators import AnchorGenerator
    strides = [4, 8, 16, 32, 64]
    gen = AnchorGenerator(strides=strides, ratios=[0.5, 1.0, 2.0], scales=[8])
    sizes = [((img[1] + s - 1) // s, (img[0] + s - 1) // s) for s in strides]
    return torch.cat(gen.grid_priors(sizes, device='cpu'))


def ignored_gt(gen, num_ign, kind):
    if kind == 'isn':  # what MarkValidRange((16, 560)) ignores: tiny and huge GT
        return torch.cat([boxes(gen, num_ign // 2, min_side=2, max_side=14),
                          boxes(gen, num_ign - num_ign // 2, min_side=570, max_side=900)])
    if kind == 'tiny':  # ISN-like: every ignored GT below the 16 px lower bound
        return boxes(gen, num_ign, min_side=2, max_side=14)
    return boxes(gen, num_ign)


def bench_assigner(device, repeat):
    gen = torch.Generator().manual_seed(0)
    rows = []
    iof = dict(invalid_iof_thr=0.5, small_prior_max_scale=64)
    cases = [(200_000, 50, 10, 'random', {}), (200_000, 50, 10, 'isn', {}),
             (200_000, 100, 20, 'random', {}), (2000, 50, 10, 'random', {}),
             (2000, 50, 10, 'isn', {}),
             (200_000, 50, 10, 'tiny', iof), (200_000, 50, 10, 'isn', iof),
             (200_000, 50, 10, 'random', iof), (2000, 50, 10, 'tiny', iof),
             ('fpn anchors', 50, 10, 'tiny', {}), ('fpn anchors', 50, 10, 'tiny', iof),
             ('fpn anchors', 50, 10, 'random', iof)]
    for num_priors, num_gt, num_ign, kind, extra in cases:
        priors = fpn_anchors() if num_priors == 'fpn anchors' else boxes(gen, num_priors)
        pred = InstanceData(priors=priors).to(device)
        gt = InstanceData(bboxes=boxes(gen, num_gt),
                          labels=torch.randint(0, 80, (num_gt, ), generator=gen)).to(device)
        ign = InstanceData(bboxes=ignored_gt(gen, num_ign, kind)).to(device)
        cfg = RPN if len(priors) > 10_000 else RCNN
        base, ours = MaxIoUAssigner(**cfg), ScaleAwareMaxIoUAssigner(**cfg, **extra)
        t_ours, t_base = paired_ms(lambda: ours.assign(pred, gt, ign),
                                   lambda: base.assign(pred, gt, ign), repeat)
        ignored = int((ours.assign(pred, gt, ign).gt_inds == -1).sum()
                      - (base.assign(pred, gt, ign).gt_inds == -1).sum())
        rule = ' + iof' if extra else ''
        rows.append([f'{num_priors} x {num_gt} GT + {num_ign} {kind} ignored{rule}', device,
                     t_ours, t_base, t_ours / t_base, ignored])
    print_table('ScaleAwareMaxIoUAssigner vs MaxIoUAssigner (ms, median)',
                ['priors x GT', 'device', 'ours', 'MaxIoUAssigner', 'ratio',
                 'extra ignored priors'], rows)


def bench_sampler(device, repeat):
    gen = torch.Generator().manual_seed(1)
    gt = InstanceData(bboxes=boxes(gen, 30), labels=torch.randint(0, 80, (30, ), generator=gen))
    jitter = gt.bboxes.repeat(20, 1) + torch.randn(600, 4, generator=gen) * 4
    pred = InstanceData(priors=torch.cat([jitter, boxes(gen, 1400)]))
    gt, pred = gt.to(device), pred.to(device)
    assign = MaxIoUAssigner(**RCNN).assign(pred, gt)

    def run(sampler):
        a = assign.__class__(assign.num_gts, assign.gt_inds.clone(), assign.max_overlaps.clone(),
                             assign.labels.clone())
        return sampler.sample(a, pred, gt)

    cfg = dict(num=512, pos_fraction=0.25, add_gt_as_proposals=True)
    base = RandomSampler(**cfg)
    rows = []
    for rng in [(0, float('inf')), (16, 560)]:
        ours = ValidRangeSampler(**cfg, valid_range=rng)
        t_ours, t_base = paired_ms(lambda: run(ours), lambda: run(base), repeat * 10)
        rows.append([f'2000 proposals + 30 GT, range {rng}', device, t_ours, t_base,
                     t_ours / t_base])
    print_table('ValidRangeSampler vs RandomSampler (ms, median)',
                ['case', 'device', 'ours', 'RandomSampler', 'ratio'], rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--repeat', type=int, default=10)
    parser.add_argument('--threads', type=int, default=1, help='torch CPU threads')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f'torch threads: {torch.get_num_threads()}')
    bench_assigner(args.device, args.repeat)
    bench_sampler(args.device, args.repeat)


if __name__ == '__main__':
    main()
