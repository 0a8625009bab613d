"""`make demo`: ISN on the synthetic extreme-scale benchmark, end to end, on one machine.

1. generates the synthetic benchmark (cached by seed and preset) into ``--data-root``;
2. trains the ISN model of ``configs/synthetic/`` from scratch (``--iters`` iterations);
3. evaluates it single-scale and with ISN multi-scale inference (every pyramid scale, detections
   outside [16, 560] resized pixels dropped per scale, soft-NMS merge), with COCO AP plus AP/AR of
   the objects whose scale lies in the ISN range;
4. writes to ``--work-dir``: the training log and checkpoint, ``metrics.json``, ``results.md``,
   validation images with detections drawn (``vis/``), the per-scale valid/ignored object-scale
   histogram (``scale_distribution.png``) and chip pictures (``chips/``).

Usage: python tools/demo.py [--device cpu|cuda] [--iters N] [--work-dir DIR] [--quick]
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIG = osp.join(REPO, 'configs', 'synthetic',
                          'isn_faster-rcnn_r18-tiny_fpn_2k_synthetic.py')
RANGE_KEY = '16-560'


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', default=DEFAULT_CONFIG)
    p.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'demo'))
    p.add_argument('--data-root', default=osp.join(REPO, 'data', 'synthetic'))
    p.add_argument('--preset', default='demo', help='synthetic benchmark preset')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    p.add_argument('--iters', type=int, default=None,
                   help='training iterations (default: the config\'s)')
    p.add_argument('--checkpoint', default=None, help='skip training and evaluate this one')
    p.add_argument('--num-vis', type=int, default=8, help='validation images to draw')
    p.add_argument('--quick', action='store_true',
                   help='smoke run: tiny preset, 2 iterations, 2 validation images')
    return p.parse_args(argv)


def _step(i, msg):
    print(f'\n[demo {i}/5] {msg}', flush=True)


def _runner(cfg):
    from mmengine.runner import Runner
    return Runner.from_cfg(cfg)


def _base_cfg(args, work_dir):
    from mmengine.config import Config
    from mmdet_scalenorm.utils import set_data_root
    cfg = Config.fromfile(args.config)
    set_data_root(cfg, args.data_root)
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=args.seed)
    cfg.log_level = 'INFO'
    ranges = [(16, 560)]
    for key in ('val_evaluator', 'test_evaluator'):
        cfg[key] = dict(cfg[key], type='ScaleRangeCocoMetric', scale_ranges=ranges)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].num_workers = 1 if args.device == 'cpu' else 2
        cfg[key].persistent_workers = False
    if args.quick:
        cfg.train_dataloader.batch_size = 2
    return cfg


def train(args):
    cfg = _base_cfg(args, args.work_dir)
    if args.iters is not None:
        cfg.train_cfg.max_iters = args.iters
        cfg.default_hooks.checkpoint.interval = args.iters
        for s in cfg.param_scheduler:
            if s.get('type') == 'MultiStepLR':
                s['end'] = args.iters
                s['milestones'] = [int(args.iters * 0.8), int(args.iters * 0.925)]
            elif s.get('type') == 'LinearLR':
                s['end'] = min(s.get('end', 0), max(1, args.iters // 10))
    cfg.train_cfg.val_begin = cfg.train_cfg.max_iters + 1  # evaluated below, twice
    runner = _runner(cfg)
    runner.train()
    ckpt = osp.join(args.work_dir, f'iter_{cfg.train_cfg.max_iters}.pth')
    if not osp.exists(ckpt):
        raise RuntimeError(f'training did not write {ckpt}')
    return ckpt


def evaluate(args, ckpt, tta, vis_dir=None):
    from mmdet_scalenorm.utils import use_tta
    name = 'tta' if tta else 'single'
    cfg = _base_cfg(args, osp.join(args.work_dir, f'eval_{name}'))
    cfg.load_from = ckpt
    if tta:
        use_tta(cfg)
    if args.quick:
        cfg.test_dataloader.dataset.indices = 2
    if vis_dir:
        cfg.default_hooks.visualization = dict(
            type='DetVisualizationHook', draw=True, interval=1, score_thr=0.3,
            test_out_dir=vis_dir)
        cfg.test_dataloader.dataset.indices = min(args.num_vis, 2) if args.quick \
            else args.num_vis
    runner = _runner(cfg)
    return runner.test()


def plots(args):
    """The scale-distribution histogram and chip pictures of the training pipeline."""
    cfg_opts = [f'train_dataloader.dataset.data_root={osp.join(args.data_root, "")}']
    py = sys.executable
    out = osp.join(args.work_dir, 'scale_distribution.png')
    max_images = ['--max-images', '4'] if args.quick else ['--max-images', '200']
    subprocess.check_call([py, osp.join(REPO, 'tools', 'analysis_tools', 'scale_distribution.py'),
                           args.config, '--out', out, *max_images, '--cfg-options', *cfg_opts])
    subprocess.check_call([py, osp.join(REPO, 'tools', 'analysis_tools', 'browse_chips.py'),
                           args.config, '--out-dir', osp.join(args.work_dir, 'chips'),
                           '--num-images', '2' if args.quick else '4',
                           '--cfg-options', *cfg_opts])


def table(results):
    keys = [('AP', 'bbox_mAP'), ('AP50', 'bbox_mAP_50'), ('AP75', 'bbox_mAP_75'),
            ('APs', 'bbox_mAP_s'), ('APm', 'bbox_mAP_m'), ('APl', 'bbox_mAP_l'),
            ('AP[16,560]', f'bbox_mAP_{RANGE_KEY}'), ('AR[16,560]', f'bbox_mAR_{RANGE_KEY}')]
    lines = ['| evaluation | ' + ' | '.join(k for k, _ in keys) + ' |',
             '|---|' + '---|' * len(keys)]
    for name, metrics in results.items():
        vals = []
        for _, key in keys:
            v = next((m for k, m in metrics.items() if k.split('/')[-1] == key), None)
            vals.append('n/a' if v is None or v < 0 else f'{100 * v:.1f}')
        lines.append(f'| {name} | ' + ' | '.join(vals) + ' |')
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    if args.device == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    if args.quick:
        args.preset = 'tiny'
        args.iters = args.iters or 2
        args.num_vis = 2
    import torch
    if args.device == 'cuda' and not torch.cuda.is_available():
        sys.exit('--device cuda: no CUDA device is available to torch')
    from mmdet.utils import register_all_modules
    import mmdet_scalenorm  # noqa: F401
    from mmdet_scalenorm.datasets.synthetic import generate_synthetic_coco
    from mmdet_scalenorm.utils import allow_full_checkpoint_load
    allow_full_checkpoint_load()
    register_all_modules()
    os.makedirs(args.work_dir, exist_ok=True)
    t0 = time.time()

    _step(1, f'synthetic benchmark ({args.preset}, seed {args.seed}) in {args.data_root}')
    data = generate_synthetic_coco(args.data_root, preset=args.preset, seed=args.seed)
    print('cached' if data.get('cached') else 'generated', data['train_ann'], data['val_ann'])

    if args.checkpoint:
        ckpt = args.checkpoint
        _step(2, f'training skipped, using {ckpt}')
    else:
        _step(2, f'training {osp.basename(args.config)} on {args.device}')
        ckpt = train(args)
    t_train = time.time() - t0

    _step(3, 'evaluating single-scale (the raw image, ISN Table 7 style)')
    results = {'single-scale': evaluate(args, ckpt, tta=False)}
    _step(4, 'evaluating ISN multi-scale inference (5 scales, range filter, soft-NMS)')
    results['multi-scale ISN (TTA)'] = evaluate(args, ckpt, tta=True)

    _step(5, 'drawing detections and plots')
    vis_dir = osp.join(args.work_dir, 'vis')
    evaluate(args, ckpt, tta=True, vis_dir=vis_dir)
    plots(args)

    md = table(results)
    with open(osp.join(args.work_dir, 'metrics.json'), 'w') as f:
        json.dump(dict(results=results, checkpoint=ckpt, config=args.config,
                       train_seconds=round(t_train, 1)), f, indent=2)
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write(md + '\n')
    print('\n' + '=' * 80)
    print(f'ISN demo on the synthetic benchmark (bbox, %), {time.time() - t0:.0f} s in all, '
          f'training {t_train:.0f} s')
    print(md)
    print(f'\nwork dir: {args.work_dir} (log, {osp.basename(ckpt)}, metrics.json, results.md, '
          'vis/, scale_distribution.png, chips/)')


if __name__ == '__main__':
    main()
