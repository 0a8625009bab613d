"""Draw the SNIPER chips and the valid / invalid GT of sample images at every pyramid scale.

ISN §3.3.1 (Fig. 2) trains, at each resolution of the image pyramid, on ``chip_size`` chips that
cover the objects whose scale is inside the ISN range (green) while the others are ignored (red).
For each sample image this replays the config's load -> resize -> MarkValidRange (see
``mmdet_scalenorm.analysis.pyramid`` for the pipeline forms understood) at each pyramid scale and
draws the resized image with

* valid GT (taking part in training) in green, invalid GT (outside the valid range) in red, crowd GT
  in red dotted;
* the positive chips ``mmdet_scalenorm.chips.generate_chips`` makes from the valid GT (blue);
* when the config's ``SampleChip`` has a ``proposals_file``: its negative-chip pool (all candidates
  ``SampleChip.negative_chips`` would draw from; magenta, dashed).

Chip size and stride come from the config's ``SampleChip`` (``--chip-size`` / ``--stride`` when the
pipeline has none).  One PNG per image, a grid with one panel per pyramid scale.

Example::

    .venv/bin/python tools/analysis_tools/browse_chips.py \\
        configs/isn/isn-faster-rcnn_r50_fpn_18e_coco.py --out-dir chips/ --num-images 4
"""
import argparse
import math
import os
import os.path as osp
import sys

import matplotlib

matplotlib.use('Agg')
import matplotlib.patches as mpatches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

import mmdet_scalenorm  # noqa: E402,F401  (registers the transforms)
from mmdet_scalenorm.analysis import (build_train_dataset, iter_pyramid,  # noqa: E402
                                      load_config, prepare_scope,
                                      pyramid_views_from_config)
from mmdet_scalenorm.chips import generate_chips  # noqa: E402

MAX_DISPLAY_SIDE = 1024  # resized images are shown downsampled to this side (coordinates kept)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Draw chips and valid/invalid GT per pyramid scale')
    p.add_argument('config', help='config file (its train_dataloader pipeline is replayed)')
    p.add_argument('--out-dir', default='browse_chips', help='folder for the PNG files')
    p.add_argument('--num-images', type=int, default=4, help='number of sample images')
    p.add_argument('--scale-index', default='all',
                   help="pyramid scale to draw: an index into the config's scales, or 'all'")
    p.add_argument('--shuffle', action='store_true', help='random sample images (else the first)')
    p.add_argument('--seed', type=int, default=0, help='seed for --shuffle')
    p.add_argument('--chip-size', type=int, default=512, help='when the config has no SampleChip')
    p.add_argument('--stride', type=int, default=32, help='when the config has no SampleChip')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config settings, e.g. '
                   'train_dataloader.dataset.dataset.data_root=DIR')
    args = p.parse_args(argv)
    if args.num_images < 1:
        p.error(f'--num-images must be >= 1; got {args.num_images}')
    return args


def select_views(spec, scale_index):
    n = len(spec.views)
    if str(scale_index).lower() == 'all':
        return list(range(n))
    try:
        k = int(scale_index)
    except ValueError:
        raise SystemExit(f"--scale-index must be an int in [0, {n - 1}] or 'all'; "
                         f'got {scale_index!r}')
    if not -n <= k < n:
        raise SystemExit(f'--scale-index {k} out of range: the config has {n} pyramid scales '
                         f'({", ".join(v.label for v in spec.views)})')
    return [k % n]


def build_chip_sampler(spec, chip_size, stride):
    """The config's SampleChip (built from its dict), or one with the CLI chip size and stride."""
    from mmdet.registry import TRANSFORMS
    if spec.sample_chip is not None:
        return TRANSFORMS.build(dict(spec.sample_chip))
    return TRANSFORMS.build(dict(type='SampleChip', chip_size=chip_size, stride=stride))


def _boxes(results):
    b = results.get('gt_bboxes', None)
    if b is None:
        return np.zeros((0, 4))
    b = b.tensor.numpy() if hasattr(b, 'tensor') else np.asarray(b)
    return b.reshape(-1, 4).astype(np.float64)


def chips_for_sample(sample, sampler):
    """(positive chips over the valid GT, negative-chip pool) of one image-scale, xyxy arrays."""
    h, w = sample.results['img'].shape[:2]
    boxes = _boxes(sample.results)
    pos = np.asarray(generate_chips(boxes[sample.valid], w, h, sampler.chip_size, sampler.stride))
    neg = np.asarray(sampler.negative_chips(sample.results, pos, w, h)).reshape(-1, 4)
    return pos.reshape(-1, 4), neg


def draw_view(ax, sample, label, sampler):
    res = sample.results
    img = res['img']
    h, w = img.shape[:2]
    show = img
    if max(h, w) > MAX_DISPLAY_SIDE:
        import cv2
        f = MAX_DISPLAY_SIDE / max(h, w)
        show = cv2.resize(img, (max(1, int(w * f)), max(1, int(h * f))),
                          interpolation=cv2.INTER_AREA)
    if show.ndim == 3 and show.shape[2] == 3:
        show = show[..., ::-1]  # BGR -> RGB
    ax.set_facecolor('0.85')  # the padding a chip extends into
    ax.imshow(show, extent=(0, w, h, 0), cmap='gray' if show.ndim == 2 else None)
    boxes = _boxes(res)
    valid = sample.valid
    crowd = sample.crowd
    pos, neg = chips_for_sample(sample, sampler)
    pad_w, pad_h = max(w, sampler.chip_size), max(h, sampler.chip_size)
    for c in np.asarray(neg).reshape(-1, 4):
        ax.add_patch(mpatches.Rectangle((c[0], c[1]), c[2] - c[0], c[3] - c[1], fill=False,
                                        edgecolor='magenta', linewidth=1.2, linestyle='--'))
    for c in np.asarray(pos).reshape(-1, 4):
        ax.add_patch(mpatches.Rectangle((c[0], c[1]), c[2] - c[0], c[3] - c[1], fill=False,
                                        edgecolor='deepskyblue', linewidth=1.6))
    for b, ok, cr in zip(boxes, valid, crowd):
        colour = 'lime' if ok else 'red'
        ax.add_patch(mpatches.Rectangle((b[0], b[1]), b[2] - b[0], b[3] - b[1], fill=False,
                                        edgecolor=colour, linewidth=1.0,
                                        linestyle=':' if cr else '-'))
    ax.set_xlim(0, pad_w)
    ax.set_ylim(pad_h, 0)
    lo, hi = sample.valid_range
    n_valid = int(valid.sum())
    ax.set_title(f'{label}: {w}x{h}, range [{lo:.4g}, {hi:.4g}]\n'
                 f'GT valid {n_valid} / invalid {len(valid) - n_valid}, '
                 f'chips pos {len(pos)} neg {len(neg)}', fontsize=8)
    ax.tick_params(labelsize=6)


def draw_image(samples, spec, sampler, out_file, title):
    n = len(samples)
    ncols = min(n, 3)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.5 * ncols, 4.5 * nrows + 0.6),
                             squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.axis('off')
    for ax, s in zip(axes.ravel(), samples):
        draw_view(ax, s, spec.views[s.view_index].label, sampler)
    handles = [mpatches.Patch(edgecolor=c, fill=False, label=t, linestyle=ls) for c, t, ls in (
        ('lime', 'valid GT', '-'), ('red', 'invalid GT (crowd dotted)', '-'),
        ('deepskyblue', f'positive chip {sampler.chip_size}px', '-'),
        ('magenta', 'negative chip pool', '--'))]
    legend_cols = 4 if ncols > 1 else 2
    fig.legend(handles=handles, loc='lower center', ncol=legend_cols, fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, (0.35 if ncols > 1 else 0.7) / (4.5 * nrows + 0.6), 1, 1))
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    try:
        prepare_scope(cfg)
        spec = pyramid_views_from_config(cfg)
        dataset = build_train_dataset(spec)
    except (ValueError, FileNotFoundError) as e:
        raise SystemExit(f'{args.config}: {e}')
    view_idx = select_views(spec, args.scale_index)
    sampler = build_chip_sampler(spec, args.chip_size, args.stride)
    n = min(args.num_images, len(dataset))
    indices = (np.random.default_rng(args.seed).choice(len(dataset), n, replace=False).tolist()
               if args.shuffle else list(range(n)))
    os.makedirs(args.out_dir, exist_ok=True)
    by_image, skipped, written = {}, [], []
    for s in iter_pyramid(cfg, indices=indices, load_images=True, with_masks=False,
                          view_indices=view_idx, spec=spec, dataset=dataset, skipped=skipped,
                          progress=True):
        by_image.setdefault(s.index, []).append(s)
        if len(by_image[s.index]) == len(view_idx):
            samples = by_image.pop(s.index)
            path = samples[0].results.get('img_path', f'#{s.index}')
            stem = osp.splitext(osp.basename(str(path)))[0] or f'{s.index:06d}'
            out = osp.join(args.out_dir, f'{s.index:06d}_{stem}.png')
            draw_image(samples, spec, sampler, out, f'{osp.basename(args.config)}: {path}')
            written.append(out)
    for idx, path, err in skipped:
        print(f'skipped {path}: {err}')
    print(f'wrote {len(written)} image(s) to {args.out_dir}')
    return 0 if written else 1


if __name__ == '__main__':
    sys.exit(main())
