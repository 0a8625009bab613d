"""Object-scale histograms per pyramid scale, valid vs ignored (the ISN paper's Fig. 1 e/f, §3.2).

For every pyramid scale of the config's training pipeline (see ``mmdet_scalenorm.analysis.pyramid``
for the pipeline forms understood) this replays load -> resize -> MarkValidRange on the training set
and draws the histogram of object scales ``sqrt(w*h)`` in the resized image (log-spaced bins),
stacked as valid (green, trained), ignored by the valid range (red) and crowd (grey), with the valid
range as vertical lines; a last panel sums all scales (Fig. 1 e/f: trained vs ignored objects
overall).  Prints a table of counts per scale.

Example::

    .venv/bin/python tools/analysis_tools/scale_distribution.py \\
        configs/isn/isn-faster-rcnn_r50_fpn_18e_coco.py --out scales.png --max-images 500 \\
        --cfg-options train_dataloader.dataset.dataset.data_root=data/coco/
"""
import argparse
import math
import os
import os.path as osp
import sys

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

import mmdet_scalenorm  # noqa: E402,F401  (registers the transforms)
from mmdet_scalenorm.analysis import (collect_scale_stats, format_scale_table,  # noqa: E402
                                      load_config, view_range_summary)

COLOURS = dict(valid='tab:green', ignored='tab:red', crowd='tab:gray')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Histogram of object scales per pyramid scale, valid '
                                'vs ignored (ISN Fig. 1 e/f)')
    p.add_argument('config', help='config file (its train_dataloader pipeline is analysed)')
    p.add_argument('--out', default='scale_distribution.png', help='output PNG file')
    p.add_argument('--max-images', type=int, default=None,
                   help='analyse only the first N training images')
    p.add_argument('--bins', type=int, default=40, help='number of log-spaced bins')
    p.add_argument('--log-y', action='store_true', help='logarithmic count axis')
    p.add_argument('--load-images', action='store_true',
                   help='decode every image (default: use the annotated image size, same result)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config settings, e.g. '
                   'train_dataloader.dataset.dataset.data_root=DIR')
    args = p.parse_args(argv)
    if args.max_images is not None and args.max_images < 1:
        p.error(f'--max-images must be >= 1; got {args.max_images}')
    if args.bins < 1:
        p.error(f'--bins must be >= 1; got {args.bins}')
    return args


def log_bins(stats, n):
    """Common log-spaced bin edges (powers of 2 outside) for all panels; scales < 1 px go first."""
    pos = np.concatenate([s.scales[s.scales > 0] for s in stats] + [np.zeros(0)])
    pos = pos[np.isfinite(pos)]
    lo = 2.0 ** math.floor(math.log2(max(1.0, pos.min()))) if len(pos) else 1.0
    hi = 2.0 ** math.ceil(math.log2(max(pos.max(), lo * 2))) if len(pos) else 1024.0
    return np.geomspace(lo, hi, n + 1)


def draw_panel(ax, scales, groups, bins, title, rng=None, log_y=False):
    """Stacked histogram of ``scales`` split by the boolean masks in ``groups`` (name -> mask)."""
    clipped = np.clip(np.nan_to_num(scales, nan=bins[0]), bins[0], bins[-1])
    data = [clipped[m] for m in groups.values()]
    labels = [f'{k} ({int(m.sum())})' for k, m in groups.items()]
    ax.hist(data, bins=bins, stacked=True, color=[COLOURS[k] for k in groups], label=labels,
            edgecolor='white', linewidth=0.3)
    ax.set_xscale('log')
    if log_y:
        ax.set_yscale('log')
    if rng is not None:
        lo, hi, const = rng
        tag = '' if const else ' (median)'
        for v, name in ((lo, 'lo'), (hi, 'hi')):
            if 0 < v < math.inf:
                ax.axvline(v, color='k', linestyle='--', linewidth=1)
                ax.text(v, 1.0, f' {name}={v:g}{tag}', transform=ax.get_xaxis_transform(),
                        va='top', ha='left', fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.set_ylabel('objects')
    ax.legend(fontsize=7, loc='upper left', bbox_to_anchor=(1.0, 1.0))


def plot(stats, out, bins=40, log_y=False, title=''):
    edges = log_bins(stats, bins)
    n = len(stats) + (1 if len(stats) > 1 else 0)
    fig, axes = plt.subplots(n, 1, figsize=(9.5, 2.2 * n + 0.6), sharex=True, squeeze=False)
    axes = axes[:, 0]
    for ax, s in zip(axes, stats):
        groups = dict(valid=s.valid, ignored=s.ignored, crowd=s.crowd)
        lo, hi, const = view_range_summary(s)
        draw_panel(ax, s.scales, groups, edges,
                   f'{s.view.label}: {s.num_images} images, valid range [{lo:g}, {hi:g}]'
                   f'{"" if const else " (median)"}', (lo, hi, const), log_y)
    if len(stats) > 1:
        cat = lambda k: np.concatenate([getattr(s, k) for s in stats])  # noqa: E731
        ranges = [view_range_summary(s) for s in stats]
        same = all(r == ranges[0] for r in ranges)
        draw_panel(axes[-1], cat('scales'),
                   dict(valid=cat('valid'), ignored=cat('ignored'), crowd=cat('crowd')), edges,
                   'all pyramid scales (trained vs ignored, ISN Fig. 1 e/f)',
                   ranges[0] if same else None, log_y)
    axes[-1].set_xlabel('object scale sqrt(w*h) in the resized image (px)')
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    skipped = []
    try:
        stats = collect_scale_stats(cfg, max_images=args.max_images,
                                    load_images=args.load_images, skipped=skipped)
    except (ValueError, FileNotFoundError) as e:
        raise SystemExit(f'{args.config}: {e}')
    print(format_scale_table(stats))
    if skipped:
        print(f'skipped {len(skipped)} image(s) that failed to load, e.g. {skipped[0][1]}')
    plot(stats, args.out, bins=args.bins, log_y=args.log_y, title=osp.basename(args.config))
    print(f'saved {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
