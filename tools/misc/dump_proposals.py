"""Write RPN proposals of every training image at every pyramid scale for SNIPER negative chips.

Step 2 of the negative-chip flow (see ``mmdet_scalenorm/apis/proposals.py``): after a short
training of CONFIG, run its RPN on each training image at each pyramid factor (the config's
ChipDataset ``scale_factors``, or ``--scales``) and write the top-K proposals per scale, in
original-image pixels, keyed by image file name, to OUT (pickle). Then train with

    --cfg-options train_dataloader.dataset.neg_proposals_file=OUT

Example::

    python tools/misc/dump_proposals.py \\
        configs/synthetic/isn-faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py \\
        work_dirs/isn_short/iter_200.pth work_dirs/proposals.pkl --topk 100
"""
import argparse
import os
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('out', help='proposals file to write (.pkl)')
    p.add_argument('--scales', type=float, nargs='+',
                   help="pyramid factors (default: the config's ChipDataset scale_factors)")
    p.add_argument('--topk', type=int, default=100, help='proposals kept per image and scale')
    p.add_argument('--max-side', type=int,
                   help='skip a scale whose resized image has a side above this (memory)')
    p.add_argument('--num-images', type=int, help='only the first N training images')
    p.add_argument('--device', default='cpu')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config settings, e.g. '
                   'train_dataloader.dataset.dataset.data_root=DIR')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import mmdet_scalenorm  # noqa: F401  (registers the custom modules)
    from mmdet_scalenorm.analysis.pyramid import load_config
    from mmdet_scalenorm.apis.proposals import dump_pyramid_proposals
    from mmdet_scalenorm.utils import allow_full_checkpoint_load
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint not found: {args.checkpoint}')
    if not args.out.endswith(('.pkl', '.pickle')):
        raise SystemExit(f'OUT must be a .pkl/.pickle file (ChipDataset reads pickles by that '
                         f'suffix); got {args.out!r}')
    allow_full_checkpoint_load()
    cfg = load_config(args.config, args.cfg_options)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    try:
        table = dump_pyramid_proposals(cfg, args.checkpoint, args.out, factors=args.scales,
                                       topk=args.topk, max_side=args.max_side,
                                       num_images=args.num_images, device=args.device)
    except ValueError as e:
        raise SystemExit(f'error: {e}')
    total = sum(len(v) for v in table.values())
    print(f'wrote {args.out}: {len(table)} images, {total} proposals; train with\n'
          f'  --cfg-options train_dataloader.dataset.neg_proposals_file={args.out}')


if __name__ == '__main__':
    main()
