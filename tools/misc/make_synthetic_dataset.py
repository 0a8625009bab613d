"""Write the synthetic extreme-scale benchmark as COCO files.

Example::

    python tools/misc/make_synthetic_dataset.py data/synthetic --preset demo --seed 0

Re-running with the same preset, seed and options reuses the files (nothing is rewritten).
"""
import argparse
import json
import os
import os.path as osp
import sys


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Generate the synthetic extreme-scale COCO benchmark')
    p.add_argument('out_dir', help='output folder (created); configs expect data/synthetic/')
    p.add_argument('--preset', default='demo', help="'tiny', 'demo' (default) or 'large'")
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--num-train', type=int)
    p.add_argument('--num-val', type=int)
    p.add_argument('--img-size-range', type=int, nargs=2, metavar=('MIN', 'MAX'),
                   help='image side range in pixels')
    p.add_argument('--obj-size-range', type=float, nargs=2, metavar=('MIN', 'MAX'),
                   help='object scale sqrt(w*h) range in pixels (log-uniform)')
    p.add_argument('--min-objects', type=int)
    p.add_argument('--max-objects', type=int)
    p.add_argument('--min-visible', type=float,
                   help='least visible fraction an occluded object keeps')
    p.add_argument('--img-format', choices=['jpg', 'png'])
    p.add_argument('--clutter', type=float, help='background clutter amount (1 = default)')
    p.add_argument('--no-progress', action='store_true')
    p.add_argument('--verify', action='store_true',
                   help='afterwards check that the annotation files are COCO and every image '
                   'decodes (names the file at fault)')
    return p.parse_args(argv)


def _check_writable(out_dir):
    """Raise SystemExit with a clear message when ``out_dir`` cannot be created or written."""
    probe = osp.abspath(out_dir)
    while not osp.exists(probe):
        parent = osp.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if not osp.isdir(probe):
        raise SystemExit(f'error: cannot create OUT_DIR {out_dir!r}: {probe!r} is a file')
    if not os.access(probe, os.W_OK | os.X_OK):
        raise SystemExit(f'error: OUT_DIR {out_dir!r} is not writable ({probe!r} denies writing)')


def main(argv=None):
    args = parse_args(argv)
    from mmdet_scalenorm.datasets.synthetic import (generate_synthetic_coco,
                                                    verify_synthetic_coco)
    overrides = {k: v for k, v in dict(
        num_train=args.num_train, num_val=args.num_val,
        img_size_range=tuple(args.img_size_range) if args.img_size_range else None,
        obj_size_range=tuple(args.obj_size_range) if args.obj_size_range else None,
        min_objects=args.min_objects, max_objects=args.max_objects,
        min_visible=args.min_visible, img_format=args.img_format,
        clutter=args.clutter).items() if v is not None}
    _check_writable(args.out_dir)
    try:
        out = generate_synthetic_coco(args.out_dir, preset=args.preset, seed=args.seed,
                                      progress=not args.no_progress, **overrides)
    except ValueError as e:
        raise SystemExit(f'error: {e}')
    except OSError as e:
        raise SystemExit(f'error: cannot write the dataset to {args.out_dir!r}: {e}')
    state = 'reused (same preset, seed and options)' if out['cached'] else 'wrote'
    print(f'{state} synthetic benchmark in {out["data_root"]}')
    for split in ('train', 'val'):
        with open(out[f'{split}_ann']) as f:
            d = json.load(f)
        print(f'  {split}: {len(d["images"])} images in {out[f"{split}_img"]}, '
              f'{len(d["annotations"])} instances in {out[f"{split}_ann"]}')
    print(f'  classes: {", ".join(out["classes"])}; manifest: {out["manifest"]}')
    if args.verify:
        try:
            counts = verify_synthetic_coco(out['data_root'])
        except (OSError, ValueError) as e:
            raise SystemExit(f'error: verification failed: {e}')
        print(f'  verified: {counts}')
    return out


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
