"""Train and evaluate the baseline, MST and ISN configs on the synthetic benchmark at the same
budget and write the project's analogue of ISN Table 6/7 (multi-scale and single-scale rows) as markdown,
every cell the mean +- std over seeds, with the training wall time of each method.

Every (method, seed, iterations) run is trained once and cached under ``WORK_DIR``
(``<method>/seed<k>_it<N>/``: checkpoint, ``result.json``): re-running the command (or running
seeds in separate processes) reuses finished runs and only trains what is missing, and the table
is rebuilt from every cached result of the requested seeds.

``--task detection`` (default) compares the Faster R-CNN configs of ``configs/synthetic/``, ``--task
instance`` the Mask R-CNN ones (a box table and a mask table; runs in ``WORK_DIR/instance/``),
``--task keypoints`` the Keypoint R-CNN ones (baseline and ISN rows, ISN with either keypoint
head: there is no MS keypoint config; a box table and a keypoint table, OKS AP of the figures;
runs in ``WORK_DIR/keypoints/``).

Rows (``--methods``; each is a config of ``configs/synthetic/`` plus the listed changes):

* ``baseline``: single-scale training; tested single-scale and with the same 5-scale test as MST
  (no range, soft-NMS merge): the fair competitor of the pyramid methods.
* ``mst``: pyramid x{4,2,1,.5,.25} chips, every object trained at every scale, 5-scale test
  (detection and instance tasks).
* ``isn``: ISN (range [16, 560] in resized pixels at train and test); single and 5-scale test.
* ablations of ISN, 5-scale test: ``isn-no-small-ignore`` (small invalid GT taught as
  background again), ``isn-512`` (512-px chips instead of ISN's 576).
* ``baseline-pre``, ``mst-pre``, ``isn-pre``: the same three fine-tuned from a pretrained
  backbone (``--pretrained FILE``, written by ``tools/misc/pretrain_backbone.py``: classification
  of canonical-scale object crops of a held-out synthetic set, the stand-in for the papers'
  ImageNet pretraining) with mmdet's fine-tuning recipe (stem and stage 1 frozen, BN statistics
  frozen); every other row trains from scratch.
* scale weighting of ``isn-pre`` (``ChipDataset(scale_repeats=...)``, factors 4, 2, 1, 0.5,
  0.25): ``isn-pre-x1w2`` lists every x1 chip twice per epoch, ``isn-pre-coarsew2`` every x1,
  x0.5 and x0.25 chip twice.
* ``isn-pre-neg`` (5-scale test, as every ablation): ``isn-pre`` with SNIPER's negative chips
  (2 per image and epoch, the ISN base's ``neg_chips_per_image``) mined from ``--neg-proposals
  FILE``, the pyramid proposals ``tools/misc/dump_proposals.py`` writes from a model trained on
  positive chips only.
* ``isn-pre-scalebatch`` (5-scale test): ``isn-pre`` with one pyramid scale per batch (SNIP §6.1:
  ``ChipScaleBatchSampler``) instead of SNIPER's mixed-scale batches.
* ``isn-pre-light`` (``--task keypoints``, 5-scale test): ``isn-pre`` with ISN's light keypoint
  head (ISN §4.3.2: 22x16 heatmaps plus 2-D offsets, smooth-L1) instead of Mask R-CNN's.

``--curve-iters 1000 2000 4000`` adds learning curves (AP vs iterations, first seed, every test of
each of ``--curve-methods``, default ``baseline isn``; a panel and a table per metric of the task:
box AP, and mask or keypoint AP) as ``WORK_DIR/learning_curves.png``; with ``--report-only``
a curve shows the points that are trained, so the runs of an equal-wall-time table
(``--iters-of``) can be its points.

``--iters-of baseline=800 isn=1600`` trains single methods for other iteration counts than
``--iters``: an equal-wall-time comparison (a 576-px chip iteration costs about half a
full-image iteration on the ``large`` preset's 320-960 px images); the table then has an iters
column and its header says the rows are not at the same number of training samples.

Usage:
    python tools/analysis_tools/compare_methods.py [--task detection|instance|keypoints]
        [--seeds 0 1 2]
        [--iters N] [--iters-of METHOD=N ...] [--out FILE.md]
        [--methods ...] [--work-dir DIR] [--data-root DIR] [--num-val N] [--curve-iters ...]
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
SINGLE = 'single scale (x1)'
MS_NO_RANGE = '5 scales, no range, soft-NMS'
MS_ISN = '5 scales, ISN range, soft-NMS'
MS_ISN_COARSE64 = '5 scales, tuned: ISN range, x0.5/x0.25 views >= 64 px, Gaussian soft-NMS'
# the test-time ranges and merge chosen on the tune split (configs/_base_/tta/isn_tta_coarse64.py),
# given to the baseline too: the same tuned 5-scale test for both
COARSE64_TTA = osp.join(REPO, 'configs', '_base_', 'tta', 'isn_tta_coarse64.py')
# the config of each method kind per task (configs/synthetic/)
CONFIGS = {
    'detection': dict(baseline='faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py',
                      ms='ms-faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py',
                      isn='isn-faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py'),
    'instance': dict(baseline='mask-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py',
                     ms='ms-mask-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py',
                     isn='isn-mask-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py'),
    'keypoints': {'baseline': 'keypoint-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py',
                  'isn': 'isn-keypoint-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py',
                  'isn-light': 'isn-keypoint-rcnn-light_r18-tiny_fpn_1xb4-1k_synthetic.py'},
}
TASK_METRICS = {'detection': ('bbox', ), 'instance': ('bbox', 'segm'),
                'keypoints': ('bbox', 'keypoints')}
TASK_MODELS = {'detection': 'Faster R-CNN', 'instance': 'Mask R-CNN',
               'keypoints': 'Keypoint R-CNN'}
METRIC_TITLES = {'bbox': 'Box AP (bbox)', 'segm': 'Mask AP (segm)',
                 'keypoints': 'Keypoint AP (keypoints: OKS AP of the figures)'}
# name: config kind, training description, edits applied to the config, [(test, tta kind)]
# tta kind: None = single scale; 'config' = the config's own tta_model; 'no-range' = the MS
# config's 5-scale TTA (ISN views, range switched off); 'coarse64' = COARSE64_TTA (ISN range,
# the coarse views' detections from 64 px up, Gaussian merge).
METHODS = {
    'baseline': ('baseline', 'single scale (x1)', {}, [(SINGLE, None), (MS_NO_RANGE, 'no-range')]),
    'mst': ('ms', 'pyramid chips, all objects', {}, [(MS_NO_RANGE, 'config')]),
    'isn': ('isn', 'pyramid chips, ISN range', {}, [(SINGLE, None), (MS_ISN, 'config')]),
    'isn-no-small-ignore': ('isn', 'ISN, small invalid GT as background',
                            {'small_ignore': False}, [(MS_ISN, 'config')]),
    'isn-512': ('isn', 'ISN, 512-px chips', {'chip_size': 512}, [(MS_ISN, 'config')]),
    # fine-tuned from the backbone of tools/misc/pretrain_backbone.py (--pretrained FILE)
    'baseline-pre': ('baseline', 'single scale (x1), pretrained backbone', {'pretrained': True},
                     [(SINGLE, None), (MS_NO_RANGE, 'no-range'), (MS_ISN_COARSE64, 'coarse64')]),
    'mst-pre': ('ms', 'pyramid chips, all objects, pretrained backbone', {'pretrained': True},
                [(MS_NO_RANGE, 'config')]),
    'isn-pre': ('isn', 'pyramid chips, ISN range, pretrained backbone', {'pretrained': True},
                [(SINGLE, None), (MS_ISN, 'config'), (MS_ISN_COARSE64, 'coarse64')]),
    # scale weighting (ChipDataset scale_repeats over the factors 4, 2, 1, 0.5, 0.25)
    'isn-pre-x1w2': ('isn', 'ISN, x1 chips twice per epoch, pretrained backbone',
                     {'pretrained': True, 'scale_repeats': (1, 1, 2, 1, 1)},
                     [(SINGLE, None), (MS_ISN, 'config'), (MS_ISN_COARSE64, 'coarse64')]),
    'isn-pre-coarsew2': ('isn', 'ISN, x1 and coarser chips twice per epoch, pretrained backbone',
                         {'pretrained': True, 'scale_repeats': (1, 1, 2, 2, 2)},
                         [(SINGLE, None), (MS_ISN, 'config'), (MS_ISN_COARSE64, 'coarse64')]),
    # ablations of isn-pre, with ISN's 5-scale test (as the from-scratch ablations above)
    # SNIPER negative chips from the proposals of --neg-proposals FILE (tools/misc/dump_proposals.py)
    'isn-pre-neg': ('isn', 'ISN + negative chips, pretrained backbone',
                    {'pretrained': True, 'neg_proposals': True}, [(MS_ISN, 'config')]),
    # one pyramid scale per batch (SNIP §6.1; ChipScaleBatchSampler)
    'isn-pre-scalebatch': ('isn', 'ISN, one scale per batch, pretrained backbone',
                           {'pretrained': True, 'scale_batches': True}, [(MS_ISN, 'config')]),
    # keypoints: ISN with ISN's light keypoint head (ISN §4.3.2) instead of Mask R-CNN's
    'isn-light': ('isn-light', 'ISN, light keypoint head', {}, [(MS_ISN, 'config')]),
    'isn-pre-light': ('isn-light', 'ISN, light keypoint head, pretrained backbone',
                      {'pretrained': True}, [(MS_ISN, 'config')]),
}
DEFAULT_METHODS = ['baseline', 'mst', 'isn']


def task_methods(task: str, methods=None):
    """``methods`` (default: ``DEFAULT_METHODS``) checked against the configs of ``task``:
    a method whose config kind the task lacks (``mst`` for keypoints) is a ``ValueError``, left
    out of the default list."""
    if methods is None:
        return [m for m in DEFAULT_METHODS if METHODS[m][0] in CONFIGS[task]]
    missing = [m for m in methods if METHODS[m][0] not in CONFIGS[task]]
    if missing:
        raise ValueError(f'--methods {" ".join(missing)}: --task {task} has no '
                         f'{"/".join(sorted({METHODS[m][0] for m in missing}))} config in '
                         f'configs/synthetic/; its methods: '
                         f'{[m for m in METHODS if METHODS[m][0] in CONFIGS[task]]}')
    return list(methods)


def metric_keys(metric: str = 'bbox'):
    """(column, metric key) of the table for ``metric`` ('bbox', 'segm' or 'keypoints'; COCO's
    keypoint evaluation has no small objects, so no APs column)."""
    keys = [('AP', f'{metric}_mAP'), ('AP50', f'{metric}_mAP_50'), ('AP75', f'{metric}_mAP_75'),
            ('APs', f'{metric}_mAP_s'), ('APm', f'{metric}_mAP_m'), ('APl', f'{metric}_mAP_l'),
            ('AP[16,560]', f'{metric}_mAP_16-560'), ('AR[16,560]', f'{metric}_mAR_16-560')]
    return [k for k in keys if not (metric == 'keypoints' and k[0] == 'APs')]


METRIC_KEYS = metric_keys('bbox')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--task', default='detection', choices=list(CONFIGS),
                   help="'detection' (Faster R-CNN), 'instance' (Mask R-CNN: box and mask AP) "
                   "or 'keypoints' (Keypoint R-CNN: box and keypoint AP; baseline and isn)")
    p.add_argument('--methods', nargs='+', default=None, choices=list(METHODS),
                   help=f'default: {" ".join(DEFAULT_METHODS)} (those the task has configs for)')
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    p.add_argument('--iters', type=int, default=None,
                   help="training iterations of every method (default: the configs' 1000)")
    p.add_argument('--iters-of', nargs='+', default=[], metavar='METHOD=N',
                   help='iterations of single methods, overriding --iters for them (e.g. '
                   'baseline=800 isn=1600: an equal-wall-time comparison where a chip '
                   'iteration costs half a full-image one); the table gets an iters column')
    p.add_argument('--curve-iters', nargs='*', type=int, default=[],
                   help='iterations of the learning curves (first seed; e.g. 1000 2000 4000)')
    p.add_argument('--curve-methods', nargs='+', default=['baseline', 'isn'],
                   choices=list(METHODS), help='methods of the learning curves')
    p.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'compare_methods'))
    p.add_argument('--data-root', default=osp.join(REPO, 'data', 'synthetic'))
    p.add_argument('--preset', default='demo')
    p.add_argument('--data-seed', type=int, default=0, help='seed of the generated benchmark')
    p.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    p.add_argument('--out', default=None, help='markdown file (default: WORK_DIR/compare.md)')
    p.add_argument('--num-val', type=int, default=None, help='evaluate on the first N images')
    p.add_argument('--pretrained', default=None, metavar='FILE',
                   help='backbone checkpoint of tools/misc/pretrain_backbone.py for the *-pre '
                   'methods (required by them)')
    p.add_argument('--neg-proposals', default=None, metavar='FILE',
                   help='pyramid proposals of the training images (tools/misc/dump_proposals.py) '
                   'for the negative chips of the *-neg methods (required by them)')
    p.add_argument('--train-only', action='store_true', help='train and test, write no table')
    p.add_argument('--report-only', action='store_true',
                   help='train nothing: write the table from the cached results (a run not '
                   'cached yet counts 0 seeds)')
    args = p.parse_args(argv)
    try:
        args.methods = task_methods(args.task, args.methods)
        args.iters_of = parse_iters_of(args.iters_of, args.methods)
        if args.curve_iters:
            args.curve_methods = task_methods(args.task, args.curve_methods)
    except ValueError as e:
        p.error(str(e))
    trained = args.methods + (args.curve_methods if args.curve_iters else [])
    pre = sorted({m for m in trained if METHODS[m][2].get('pretrained')})
    if pre and not args.report_only:
        if not args.pretrained:
            p.error(f'--methods/--curve-methods {" ".join(pre)} fine-tune a pretrained backbone: give '
                    f'--pretrained FILE (tools/misc/pretrain_backbone.py writes it)')
        if not osp.isfile(args.pretrained):
            p.error(f'--pretrained {args.pretrained!r}: no such file')
    neg = sorted({m for m in trained if METHODS[m][2].get('neg_proposals')})
    if neg and not args.report_only and not (args.neg_proposals and
                                             osp.isfile(args.neg_proposals)):
        p.error(f'--methods/--curve-methods {" ".join(neg)} mine negative chips: give '
                f'--neg-proposals FILE, an existing file written by tools/misc/dump_proposals.py '
                f'(got {args.neg_proposals!r})')
    return args


def parse_iters_of(items, methods) -> dict:
    """``['baseline=800', 'isn=1600']`` -> ``{'baseline': 800, 'isn': 1600}``; a method not in
    ``methods`` or a count that is not a positive int is a ``ValueError`` naming the item."""
    out = {}
    for item in items:
        name, sep, n = item.partition('=')
        if not sep or name not in methods or not n.isdigit() or int(n) < 1:
            raise ValueError(f'--iters-of {item!r}: expected METHOD=N with METHOD one of '
                             f'{methods} (the --methods of this run) and N a positive int')
        out[name] = int(n)
    return out


def machine() -> str:
    import torch
    dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else \
        f'CPU ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)'
    return f'{platform.machine()} {dev}, Python {platform.python_version()}, torch ' \
           f'{torch.__version__}'


def method_config(name: str, args, seed: int, work: str):
    """The experiment config of method ``name`` (data root, seed, evaluator, ablation edits)."""
    from mmdet_scalenorm.apis.experiment import load_experiment_config
    from mmdet_scalenorm.utils.config import (set_chip_size, set_pretrained_backbone,
                                              set_neg_proposals, set_scale_batches,
                                              set_scale_repeats,
                                              set_small_invalid_ignore)
    kind, _, edits, _ = METHODS[name]
    cfg = load_experiment_config(osp.join(SYN, CONFIGS[args.task][kind]), args.data_root, work,
                                 seed=seed, workers=1 if args.device == 'cpu' else 2)
    if 'chip_size' in edits:
        set_chip_size(cfg, edits['chip_size'])
    if 'scale_repeats' in edits:
        set_scale_repeats(cfg, edits['scale_repeats'])
    if edits.get('neg_proposals'):
        set_neg_proposals(cfg, args.neg_proposals)
    if edits.get('scale_batches'):
        set_scale_batches(cfg)
    if 'small_ignore' in edits:
        set_small_invalid_ignore(cfg, edits['small_ignore'])
    if edits.get('pretrained'):
        set_pretrained_backbone(cfg, args.pretrained)
    return cfg


def no_range_tta(cfg, task: str = 'detection'):
    """Give ``cfg`` the MS config's 5-scale TTA (the ISN views, range switched off). A task
    without an MS config (keypoints) takes its ISN config's views with the MS recipe's change
    (the ``tta_model`` range of configs/_base_/scale_norm/ms.py: none)."""
    from mmengine.config import Config
    if 'ms' in CONFIGS[task]:
        ms = Config.fromfile(osp.join(SYN, CONFIGS[task]['ms']))
        cfg.tta_model = ms.tta_model
        cfg.tta_pipeline = ms.tta_pipeline
        return cfg
    isn = Config.fromfile(osp.join(SYN, CONFIGS[task]['isn']))
    recipe = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'scale_norm', 'ms.py'))
    cfg.tta_model = dict(isn.tta_model, valid_range=recipe.tta_model.valid_range)
    cfg.tta_pipeline = isn.tta_pipeline
    return cfg


def task_dir(args) -> str:
    """Runs of the detection task in WORK_DIR, of other tasks in WORK_DIR/<task>."""
    return args.work_dir if args.task == 'detection' else osp.join(args.work_dir, args.task)


def run_inputs(name: str, args) -> dict:
    """The input files method ``name`` trains from (``pretrained``: the backbone,
    ``neg_proposals``: the proposals of the negative chips), each as {file, sha256}: recorded in
    a run's result.json, and checked against the given files when a cached run is reused."""
    from mmdet_scalenorm.utils.model_zoo import sha256sum
    edits = METHODS[name][2]
    return {key: dict(file=osp.relpath(osp.abspath(getattr(args, key)), REPO),
                      sha256=sha256sum(getattr(args, key)))
            for key in ('pretrained', 'neg_proposals') if edits.get(key)}


def run_one(name: str, seed: int, iters: int, args) -> dict:
    """Train (unless cached) and test method ``name``; returns the cached result dict."""
    from mmengine.config import Config
    from mmdet_scalenorm.apis.experiment import evaluate, set_iterations, train
    work = osp.join(task_dir(args), name, f'seed{seed}_it{iters}')
    result_file = osp.join(work, 'result.json')
    result = {}
    if osp.isfile(result_file):
        with open(result_file) as f:
            result = json.load(f)
    _, _, _, tests = METHODS[name]
    if result and not args.report_only:
        for key, given in run_inputs(name, args).items():
            if key in result and result[key]['sha256'] != given['sha256']:
                raise SystemExit(f'{work}: cached run trained with --{key.replace("_", "-")} '
                                 f'{result[key]["file"]} (sha256 {result[key]["sha256"][:8]}), '
                                 f'not {given["file"]} ({given["sha256"][:8]}): remove the '
                                 f'folder to retrain, or give the file it was trained with')
    if all(t in result.get('tests', {}) for t, _ in tests):
        return result
    if args.report_only:  # no training: what is cached (maybe nothing) goes in the table
        return dict(result, method=name, seed=seed, tests=result.get('tests', {}),
                    train_seconds=result.get('train_seconds', float('nan')))
    cfg = set_iterations(method_config(name, args, seed, work), iters)
    ckpt = osp.join(work, f'iter_{iters}.pth')
    if 'train_seconds' not in result or not osp.isfile(ckpt):
        print(f'\n[compare] {name} seed {seed}: training {iters} iterations', flush=True)
        t0 = time.time()
        ckpt = train(cfg)
        result = dict(method=name, seed=seed, iters=iters,
                      batch=cfg.train_dataloader.batch_size,
                      train_seconds=time.time() - t0, tests={}, task=args.task)
        result.update(run_inputs(name, args))
    for test, kind in tests:
        if test in result['tests']:
            continue
        print(f'[compare] {name} seed {seed}: testing {test}', flush=True)
        ecfg = method_config(name, args, seed, osp.join(work, 'eval'))
        if kind == 'no-range':
            no_range_tta(ecfg, args.task)
        elif kind == 'coarse64':
            tuned = Config.fromfile(COARSE64_TTA)
            ecfg.tta_model, ecfg.tta_pipeline = tuned.tta_model, tuned.tta_pipeline
        t0 = time.time()
        m = evaluate(ecfg, ckpt, tta=kind is not None, num_images=args.num_val)
        result['tests'][test] = {k.split('/')[-1]: v for k, v in m.items()}
        result.setdefault('test_seconds', {})[test] = time.time() - t0
        with open(result_file, 'w') as f:
            json.dump(result, f, indent=2)
    return result


def mean_std(values):
    import numpy as np
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0


def cell(values, scale=100.0) -> str:
    if not values:
        return 'n/a'
    m, s = mean_std([scale * v for v in values])
    return f'{m:.1f}' if len(values) == 1 else f'{m:.1f} ± {s:.1f}'


def table(results: list, methods, seeds, metric: str = 'bbox', iters: dict = None) -> str:
    """Markdown table of ``metric`` ('bbox', 'segm' or 'keypoints'): one row per (method,
    test), cells mean ± std over ``seeds``; ``iters`` ({method: iterations}) adds an iters
    column (methods trained for different numbers of iterations)."""
    keys = metric_keys(metric)
    header = ['method', 'training', 'testing'] + (['iters'] if iters else []) + \
        [k for k, _ in keys] + ['train min', 'seeds']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for name in methods:
        _, train_desc, _, tests = METHODS[name]
        runs = [r for r in results if r['method'] == name and r['seed'] in seeds]
        for test, _ in tests:
            done = [r for r in runs if test in r.get('tests', {})]
            cells = [cell([r['tests'][test][key] for r in done
                           if r['tests'][test].get(key, -1) >= 0]) for _, key in keys]
            minutes = cell([r['train_seconds'] for r in done], scale=1 / 60)
            lines.append('| ' + ' | '.join([name, train_desc, test] +
                                           ([str(iters[name])] if iters else []) + cells +
                                           [minutes, str(len(done))]) + ' |')
    return '\n'.join(lines)


def learning_curves(args, out_png: str) -> dict:
    """Train each of ``--curve-methods`` at each of ``--curve-iters`` (first seed); plot the AP
    of each of its tests vs iterations (with ``--report-only``: the points that are trained),
    one panel per metric of the task (box AP; and mask or keypoint AP). Returns {metric:
    markdown table of the points}."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    seed = args.seeds[0]
    metrics = TASK_METRICS[args.task]
    series = {(m, name, test): [] for m in metrics for name in args.curve_methods
              for test, _ in METHODS[name][3]}
    for it in args.curve_iters:
        for name in args.curve_methods:
            r = run_one(name, seed, it, args)
            for (m, n, test), pts in series.items():
                if n == name and test in r['tests']:
                    pts.append((it, 100 * r['tests'][test][f'{m}_mAP']))
    series = {k: pts for k, pts in series.items() if pts}
    if not series:
        raise SystemExit('--curve-iters: no trained point of ' + ', '.join(args.curve_methods))
    fig, axes = plt.subplots(1, len(metrics), figsize=(6 * len(metrics), 4), squeeze=False)
    tables = {}
    for m, ax in zip(metrics, axes[0]):
        panel = {(n, t): pts for (mm, n, t), pts in series.items() if mm == m}
        for (name, test), pts in panel.items():
            xs, ys = zip(*pts)
            ax.plot(xs, ys, 'o-' if 'scales' in test else 's--', label=f'{name}, {test}')
        ax.set_xlabel('training iterations (batch 4)')
        ax.set_ylabel(f'{m} AP (%)')
        ax.set_xscale('log', base=2)
        ax.set_xticks(args.curve_iters, [str(i) for i in args.curve_iters])
        ax.set_title(f'synthetic benchmark, seed {seed}' +
                     (f': {m} AP' if len(metrics) > 1 else ''))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        rows = ['| iterations | ' + ' | '.join(f'{n}, {t}' for n, t in panel) + ' |',
                '|---|' + '---|' * len(panel)]
        for it in args.curve_iters:
            cells = [dict(pts).get(it) for pts in panel.values()]
            rows.append(f'| {it} | ' + ' | '.join('' if c is None else f'{c:.1f}'
                                                  for c in cells) + ' |')
        tables[m] = '\n'.join(rows)
    fig.tight_layout()
    fig.savefig(out_png, dpi=120)
    plt.close(fig)
    return tables


def main(argv=None):
    args = parse_args(argv)
    if args.device == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    from mmdet.utils import register_all_modules
    import mmdet_scalenorm  # noqa: F401
    from mmdet_scalenorm.datasets.synthetic import generate_synthetic_coco
    from mmdet_scalenorm.utils import allow_full_checkpoint_load
    allow_full_checkpoint_load()
    register_all_modules()
    os.makedirs(task_dir(args), exist_ok=True)
    generate_synthetic_coco(args.data_root, preset=args.preset, seed=args.data_seed)
    iters = args.iters or 1000
    iters_of = {name: args.iters_of.get(name, iters) for name in args.methods}
    per_method = len(set(iters_of.values())) > 1
    results = [run_one(name, seed, iters_of[name], args) for seed in args.seeds
               for name in args.methods]
    batch = next((r['batch'] for r in results if 'batch' in r), None)
    curves = learning_curves(args, osp.join(task_dir(args), 'learning_curves.png')) \
        if args.curve_iters else None
    if args.train_only:
        return
    out = args.out or osp.join(task_dir(args), 'compare.md')
    cmd = 'python tools/analysis_tools/compare_methods.py ' + ' '.join(
        argv if argv is not None else sys.argv[1:])
    model = TASK_MODELS[args.task]
    parts = [
        f'Synthetic extreme-scale benchmark (preset `{args.preset}`, data seed {args.data_seed}, '
        f'{args.num_val or "all"} validation images), {model} R18-tiny FPN from scratch'
        + (' (the *-pre rows: fine-tuned from the pretrained backbone of '
           'tools/misc/pretrain_backbone.py), '
           if any(METHODS[name][2].get('pretrained') for name in args.methods) else ', ')
        + (f'the iterations (x batch {batch}) of the iters column: NOT the same number of '
           'training samples, compare the train min column; ' if per_method else
           f'{iters} iterations x batch {batch} for every method (the same number '
           'of training samples); ') +
        f'training seeds {", ".join(map(str, args.seeds))}; each cell is '
        'the mean ± std (sample std) over the seeds; AP in %; AP/AR[16,560] over objects '
        'with sqrt(w*h) in [16, 560] px (by the box, for masks and keypoints too); "train min" '
        'is training wall time in minutes.', '']
    for metric in TASK_METRICS[args.task]:
        if len(TASK_METRICS[args.task]) > 1:
            parts += [f'{METRIC_TITLES[metric]}:', '']
        parts += [table(results, args.methods, args.seeds, metric,
                        iters_of if per_method else None), '']
    if curves and len(curves) == 1:
        parts += [f'Learning curves (seed {args.seeds[0]}, bbox AP, `learning_curves.png`):', '',
                  curves['bbox'], '']
    elif curves:
        parts += [f'Learning curves (seed {args.seeds[0]}, `learning_curves.png`):', '']
        for metric, rows in curves.items():
            parts += [f'{METRIC_TITLES[metric]}:', '', rows, '']
    parts += [f'Command: `{cmd.strip()}`  ', f'Machine: {machine()}  ',
              f'Date: {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}']
    text = '\n'.join(parts)
    with open(out, 'w') as f:
        f.write(text + '\n')
    print('\n' + text)
    print(f'\nwrote {out}')


if __name__ == '__main__':
    main()
