"""Pretrain a config's backbone by classifying canonical-scale object crops of a held-out
synthetic set: the stand-in for ImageNet pretraining (SNIP §5; see
``mmdet_scalenorm/apis/backbone_pretrain.py``).

The held-out set is generated (or reused) in ``--data-root`` with ``--data-seed`` (default 2:
the reported benchmark is seed 0 and the tuning set seed 1), its ``train`` split trains the
classifier and its ``val`` split measures top-1 accuracy. Then fine-tune a detector from it:

    python tools/train.py CONFIG --cfg-options \\
        model.backbone.init_cfg.type=Pretrained model.backbone.init_cfg.checkpoint=OUT

or, in Python, ``mmdet_scalenorm.utils.config.set_pretrained_backbone(cfg, OUT)`` (which also
applies mmdet's ImageNet fine-tuning recipe: stem and first stage frozen, BN statistics frozen);
``compare_methods.py --pretrained OUT`` does that for every method.

Example::

    python tools/misc/pretrain_backbone.py \\
        configs/synthetic/faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py \\
        work_dirs/pretrain/r18-tiny_synthetic-cls.pth
"""
import argparse
import json
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='detector config whose model.backbone is pretrained')
    p.add_argument('out', help='backbone checkpoint to write (.pth)')
    p.add_argument('--data-root', default=osp.join(REPO, 'data', 'synthetic_pretrain'))
    p.add_argument('--data-seed', type=int, default=2,
                   help='seed of the held-out set (not the reported benchmark\'s 0)')
    p.add_argument('--preset', default='demo')
    p.add_argument('--num-train', type=int, default=2000, help='training images of the held-out set')
    p.add_argument('--num-val', type=int, default=200)
    p.add_argument('--min-size', type=float, default=24.0,
                   help='objects with sqrt(w*h) below this are not cropped (never upsampled)')
    p.add_argument('--context', type=float, default=1.5, help='crop side / max(w, h)')
    p.add_argument('--crop-size', type=int, default=64)
    p.add_argument('--iters', type=int, default=3000)
    p.add_argument('--batch-size', type=int, default=128)
    p.add_argument('--lr', type=float, default=2e-3)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--no-progress', action='store_true')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.data_seed == 0 and args.preset == 'demo':
        raise SystemExit('--data-seed 0 of the demo preset is the reported benchmark: pretrain on '
                         'a held-out seed (default 2)')
    import mmdet_scalenorm  # noqa: F401  (registers the custom modules)
    from mmengine.config import Config
    from mmdet_scalenorm.apis.backbone_pretrain import object_crops, pretrain_backbone
    from mmdet_scalenorm.datasets.synthetic import SYNTHETIC_CLASSES, generate_synthetic_coco
    cfg = Config.fromfile(args.config)
    pre = cfg.model.get('data_preprocessor', {})
    mean, std = pre.get('mean', (123.675, 116.28, 103.53)), pre.get('std', (58.395, 57.12, 57.375))
    if not pre.get('bgr_to_rgb', True):
        raise SystemExit('pretrain_backbone feeds RGB crops; the config\'s data_preprocessor '
                         'has bgr_to_rgb=False')
    paths = generate_synthetic_coco(args.data_root, preset=args.preset, seed=args.data_seed,
                                    num_train=args.num_train, num_val=args.num_val,
                                    progress=not args.no_progress)
    load = int(round(args.crop_size * 1.125))
    data = {s: object_crops(paths[f'{s}_ann'], paths[f'{s}_img'], args.min_size, args.context,
                            load, progress=not args.no_progress) for s in ('train', 'val')}
    meta = dict(config=osp.relpath(osp.abspath(args.config), REPO), preset=args.preset,
                data_seed=args.data_seed, min_size=args.min_size, context=args.context)
    info = pretrain_backbone(dict(cfg.model.backbone, init_cfg=None), data['train'],
                             data['val'], args.out, num_classes=len(SYNTHETIC_CLASSES),
                             iters=args.iters, batch_size=args.batch_size,
                             crop_size=args.crop_size, lr=args.lr, mean=mean, std=std,
                             seed=args.seed, progress=not args.no_progress, meta=meta)
    print(json.dumps(info, indent=1))
    print(f'wrote {args.out}: val top-1 {100 * info["val_top1"]:.1f}% on {info["num_val"]} '
          f'held-out crops')


if __name__ == '__main__':
    main()
