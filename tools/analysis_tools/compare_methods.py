"""Train and evaluate the baseline, MST and ISN configs of one model on the synthetic benchmark
with the same budget, and write a markdown table: the small-scale analogue of ISN Table 6
(+ single-scale rows as in ISN Table 7). Reports whatever the numbers are.

Usage:
    python tools/analysis_tools/compare_methods.py [--iters N] [--out FILE.md]
        [--work-dir DIR] [--data-root DIR] [--preset demo] [--methods baseline mst isn]
"""
import argparse
import json
import os
import os.path as osp
import platform
import sys
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SYN = osp.join(REPO, 'configs', 'synthetic')
METHODS = {
    # name: (config, train description, evaluations [(test description, tta)])
    'baseline': ('faster-rcnn_r18-tiny_fpn_1k_synthetic.py', 'single scale (x1)',
                 [('single scale (x1)', False)]),
    'mst': ('mst_faster-rcnn_r18-tiny_fpn_1k_synthetic.py',
            'pyramid x{4,2,1,.5,.25}, 512 chips, all objects',
            [('single scale (x1)', False), ('5 scales, soft-NMS', True)]),
    'isn': ('isn_faster-rcnn_r18-tiny_fpn_1k_synthetic.py',
            'pyramid x{4,2,1,.5,.25}, 512 chips, ISN range [16,560]',
            [('single scale (x1)', False), ('5 scales, ISN range, soft-NMS', True)]),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--methods', nargs='+', default=list(METHODS), choices=list(METHODS))
    p.add_argument('--iters', type=int, default=None,
                   help="training iterations for every method (default: the configs' 2000)")
    p.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'compare_methods'))
    p.add_argument('--data-root', default=osp.join(REPO, 'data', 'synthetic'))
    p.add_argument('--preset', default='demo')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    p.add_argument('--out', default=None, help='markdown file (default: WORK_DIR/compare.md)')
    p.add_argument('--num-val', type=int, default=None, help='evaluate on the first N images')
    return p.parse_args(argv)


def machine() -> str:
    import torch
    dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else \
        f'CPU ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)'
    return f'{platform.machine()} {dev}, Python {platform.python_version()}, torch ' \
           f'{torch.__version__}'


def main(argv=None):
    args = parse_args(argv)
    if args.device == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    from mmdet.utils import register_all_modules
    import mmdet_scalenorm  # noqa: F401
    from mmdet_scalenorm.apis.experiment import (evaluate, load_experiment_config,
                                                 metrics_table, set_iterations, train)
    from mmdet_scalenorm.datasets.synthetic import generate_synthetic_coco
    from mmdet_scalenorm.utils import allow_full_checkpoint_load
    allow_full_checkpoint_load()
    register_all_modules()
    os.makedirs(args.work_dir, exist_ok=True)
    out = args.out or osp.join(args.work_dir, 'compare.md')
    generate_synthetic_coco(args.data_root, preset=args.preset, seed=args.seed)

    rows, raw, seconds = [], {}, {}
    for name in args.methods:
        config, train_desc, evals = METHODS[name]
        config = osp.join(SYN, config)
        work = osp.join(args.work_dir, name)

        def cfg_for(sub):
            return load_experiment_config(config, args.data_root, osp.join(work, sub),
                                          seed=args.seed,
                                          workers=1 if args.device == 'cpu' else 2)

        cfg = cfg_for('')
        cfg.work_dir = work
        if args.iters:
            set_iterations(cfg, args.iters)
        iters, batch = cfg.train_cfg.max_iters, cfg.train_dataloader.batch_size
        print(f'\n[compare] {name}: training {osp.basename(config)} for {iters} iterations',
              flush=True)
        t0 = time.time()
        ckpt = train(cfg)
        seconds[name] = time.time() - t0
        for test_desc, tta in evals:
            print(f'[compare] {name}: testing {test_desc}', flush=True)
            m = evaluate(cfg_for('eval_tta' if tta else 'eval_single'), ckpt, tta=tta,
                         num_images=args.num_val)
            raw[f'{name} / {test_desc}'] = m
            rows.append(((name, train_desc, test_desc), m))
        budget = f'{iters} iterations x batch {batch}'

    table = metrics_table(rows, first_cols=('method', 'training', 'testing'))
    cmd = 'python tools/analysis_tools/compare_methods.py ' + ' '.join(
        a for a in (argv if argv is not None else sys.argv[1:]))
    text = '\n'.join([
        f'Synthetic extreme-scale benchmark (preset `{args.preset}`, seed {args.seed}), '
        f'Faster R-CNN R18-tiny FPN from scratch, {budget} for every method; bbox AP in %, '
        f'AP/AR[16,560] over objects with sqrt(w*h) in [16, 560] px.',
        '', table, '',
        f'Command: `{cmd.strip()}`  ',
        f'Machine: {machine()}  ',
        f'Date: {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}  ',
        'Training time: ' + ', '.join(f'{k} {v / 60:.1f} min' for k, v in seconds.items()),
    ])
    with open(out, 'w') as f:
        f.write(text + '\n')
    with open(osp.splitext(out)[0] + '.json', 'w') as f:
        json.dump(dict(metrics=raw, train_seconds=seconds), f, indent=2)
    print('\n' + text)
    print(f'\nwrote {out}')


if __name__ == '__main__':
    main()
