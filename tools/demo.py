"""`make demo`: ISN on the synthetic extreme-scale benchmark, end to end, on one machine.

1. generates the synthetic benchmark (cached by seed and preset) into ``--data-root``;
2. trains the ISN model of ``configs/synthetic/`` (``--iters`` iterations), fine-tuned from the
   pretrained R18-tiny backbone shipped in ``checkpoints/pretrain/`` (the papers start from
   ImageNet; ``configs/_base_/models/r18-tiny_pretrained_backbone.py``);
3. evaluates it single-scale and with ISN multi-scale inference (every pyramid scale, detections
   outside [16, 560] resized pixels dropped per scale, soft-NMS merge), with COCO AP plus AP/AR of
   the objects whose scale lies in the ISN range;
4. writes to ``--work-dir``: the training log and checkpoint, ``metrics.json``, ``results.md``,
   validation images with detections drawn (``vis/``), the per-scale valid/ignored object-scale
   histogram (``scale_distribution.png``) and chip pictures (``chips/``).

``--config`` picks another config of ``configs/synthetic/``, e.g. the ISN Mask R-CNN one
(``isn-mask-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py``): masks are then drawn and evaluated too; or
the ISN Keypoint R-CNN one (``isn-keypoint-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py``): the figures'
keypoints and skeletons are drawn (``mmdet_scalenorm.apis.draw_keypoints``) and the keypoint AP
(OKS) table is printed after the box table.

Usage: python tools/demo.py [--config CONFIG] [--device cpu|cuda] [--iters N] [--work-dir DIR]
    [--quick]
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
                          'isn-faster-rcnn_r18-tiny-pre_fpn_1xb4-1k_synthetic.py')
# `make demo` must end within 15 minutes on 2 CPU cores. An ISN iteration (batch 4 of 576-px
# chips) takes ~1.9 s there (measured 2026-12-02), so the config's 1000 iterations alone would
# take ~32 minutes: on the CPU the demo trains CPU_ITERS iterations and evaluates on the first
# CPU_NUM_VAL validation images (a short run: the README's comparison has the full-budget
# numbers). --iters / --num-val override both; on a GPU the defaults are the config's.
CPU_ITERS = 250
CPU_NUM_VAL = 40


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', default=DEFAULT_CONFIG)
    p.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'demo'))
    p.add_argument('--data-root', default=osp.join(REPO, 'data', 'synthetic'))
    p.add_argument('--preset', default='demo', help='synthetic benchmark preset')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    p.add_argument('--iters', type=int, default=None,
                   help=f"training iterations (default: {CPU_ITERS} on the CPU, the config's "
                   'on a GPU)')
    p.add_argument('--num-val', type=int, default=None,
                   help=f'evaluate on the first N validation images (default: {CPU_NUM_VAL} on '
                   'the CPU, all on a GPU)')
    p.add_argument('--checkpoint', default=None, help='skip training and evaluate this one')
    p.add_argument('--num-vis', type=int, default=8, help='validation images to draw')
    p.add_argument('--quick', action='store_true',
                   help='smoke run: tiny preset, 2 iterations, 2 validation images')
    return p.parse_args(argv)


def _step(i, msg):
    print(f'\n[demo {i}/5] {msg}', flush=True)


def _cfg(args, work_dir):
    from mmdet_scalenorm.apis.experiment import load_experiment_config
    cfg = load_experiment_config(args.config, args.data_root, work_dir, seed=args.seed,
                                 workers=1 if args.device == 'cpu' else 2,
                                 batch_size=2 if args.quick else None)
    cfg.log_level = 'INFO'
    init = cfg.model.backbone.get('init_cfg') or {}
    if init.get('checkpoint') and not osp.isabs(init['checkpoint']):
        init['checkpoint'] = osp.join(REPO, init['checkpoint'])  # relative to the repository
    return cfg


# the metric sections of results.md, in order: (metric, title); a lone box table has no title
METRIC_SECTIONS = (('bbox', 'boxes (bbox)'), ('segm', 'masks (segm)'),
                   ('keypoints', 'keypoints (OKS AP of the classes with keypoints)'))


def results_markdown(results: dict) -> str:
    """The metrics tables of ``{evaluation: metrics}``: boxes, then masks and keypoints when
    they were evaluated (one titled table each)."""
    from mmdet_scalenorm.apis.experiment import metrics_table
    rows = [((name, ), m) for name, m in results.items()]
    found = [(m, title) for m, title in METRIC_SECTIONS
             if any(k.endswith(f'{m}_mAP') for r in results.values() for k in r)]
    if len(found) <= 1:
        return metrics_table(rows)
    return '\n\n'.join(f'{title}:\n\n' + metrics_table(rows, metric=m) for m, title in found)


def keypoint_drawing(cfg):
    """(0-based skeleton, labels of the classes with keypoints) of the config's validation set:
    CocoKeypointDataset's metainfo and the categories of its annotation file that name
    keypoints."""
    from mmdet.registry import DATASETS
    ds = DATASETS.build(cfg.val_dataloader.dataset)
    classes = list(ds.metainfo['classes'])
    with open(ds.ann_file) as f:
        cats = json.load(f)['categories']
    labels = [classes.index(c['name']) for c in cats if c.get('keypoints') and c['name'] in classes]
    return [list(p) for p in ds.metainfo['skeleton']], labels


def draw_detections(args, ckpt, img_dir, out_dir, score_thr=0.5):
    """Run the ISN multi-scale model through the inference API on the first validation images
    and save each with its detections drawn (mmdet's DetLocalVisualizer), and the keypoints and
    skeletons of the classes with keypoints on top (:func:`mmdet_scalenorm.apis.draw_keypoints`)
    when the model predicts them."""
    import mmcv
    from mmdet.visualization import DetLocalVisualizer
    from mmdet_scalenorm.apis import draw_keypoints, inference_scalenorm, init_scalenorm_detector
    from mmdet_scalenorm.utils import set_data_root
    from mmengine.config import Config
    cfg = set_data_root(Config.fromfile(args.config), args.data_root)
    model = init_scalenorm_detector(cfg, ckpt, device=args.device, tta=True)
    names = sorted(os.listdir(img_dir))[:args.num_vis]
    vis = DetLocalVisualizer.get_instance('demo_vis', save_dir=out_dir)
    vis.dataset_meta = dict(cfg.metainfo) if 'metainfo' in cfg else {}
    os.makedirs(out_dir, exist_ok=True)
    kps_meta = None
    for name in names:
        path = osp.join(img_dir, name)
        result = inference_scalenorm(model, path)
        img = mmcv.imread(path, channel_order='rgb')
        out = osp.join(out_dir, osp.splitext(name)[0] + '.jpg')
        vis.add_datasample(name, img, result, draw_gt=False, pred_score_thr=score_thr)
        drawn = vis.get_image()
        if 'keypoints' in result.pred_instances:
            kps_meta = kps_meta or keypoint_drawing(cfg)
            drawn = draw_keypoints(vis, result.pred_instances, kps_meta[0], labels=kps_meta[1],
                                   score_thr=score_thr)
        mmcv.imwrite(drawn[..., ::-1], out)
        n = int((result.pred_instances.scores >= score_thr).sum())
        print(f'  {out}: {n} detections with score >= {score_thr}')


def plots(args):
    """The scale-distribution histogram and chip pictures of the training pipeline."""
    from mmengine.config import Config
    key, ds = 'train_dataloader.dataset', Config.fromfile(args.config).train_dataloader.dataset
    while 'dataset' in ds:  # ChipDataset (or another wrapper) around the COCO dataset
        key, ds = key + '.dataset', ds['dataset']
    cfg_opts = [f'{key}.data_root={osp.join(args.data_root, "")}']
    py = sys.executable
    out = osp.join(args.work_dir, 'scale_distribution.png')
    max_images = ['--max-images', '4'] if args.quick else ['--max-images', '200']
    subprocess.check_call([py, osp.join(REPO, 'tools', 'analysis_tools', 'scale_distribution.py'),
                           args.config, '--out', out, *max_images, '--cfg-options', *cfg_opts])
    subprocess.check_call([py, osp.join(REPO, 'tools', 'analysis_tools', 'browse_chips.py'),
                           args.config, '--out-dir', osp.join(args.work_dir, 'chips'),
                           '--num-images', '2' if args.quick else '4',
                           '--cfg-options', *cfg_opts])


def main(argv=None):
    args = parse_args(argv)
    if args.device == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    if args.quick:
        args.preset = 'tiny'
        args.iters = args.iters or 2
        args.num_val = args.num_val or 2
        args.num_vis = 2
    elif args.device == 'cpu':
        args.iters = args.iters or CPU_ITERS
        args.num_val = args.num_val or CPU_NUM_VAL
    import torch
    if args.device == 'cuda' and not torch.cuda.is_available():
        sys.exit('--device cuda: no CUDA device is available to torch')
    from mmdet.utils import register_all_modules
    import mmdet_scalenorm  # noqa: F401
    from mmdet_scalenorm.datasets.synthetic import generate_synthetic_coco
    from mmdet_scalenorm.apis.experiment import evaluate, set_iterations, train
    from mmdet_scalenorm.utils import allow_full_checkpoint_load
    allow_full_checkpoint_load()
    register_all_modules()
    os.makedirs(args.work_dir, exist_ok=True)
    t0 = time.time()

    _step(1, f'synthetic benchmark ({args.preset}, seed {args.seed}) in {args.data_root}')
    data = generate_synthetic_coco(args.data_root, preset=args.preset, seed=args.seed)
    print('cached' if data.get('cached') else 'generated', data['train_ann'], data['val_ann'])

    t1 = time.time()
    if args.checkpoint:
        ckpt = args.checkpoint
        _step(2, f'training skipped, using {ckpt}')
    else:
        _step(2, f'training {osp.basename(args.config)} on {args.device}')
        cfg = _cfg(args, args.work_dir)
        if args.iters is not None:
            set_iterations(cfg, args.iters)
        ckpt = train(cfg)
    t_train = time.time() - t1

    n_eval = args.num_val
    _step(3, 'evaluating single-scale (the raw image, ISN Table 7 style)')
    results = {'single-scale': evaluate(_cfg(args, osp.join(args.work_dir, 'eval_single')),
                                        ckpt, num_images=n_eval)}
    _step(4, 'evaluating ISN multi-scale inference (5 scales, range filter, soft-NMS)')
    results['multi-scale ISN (TTA)'] = evaluate(
        _cfg(args, osp.join(args.work_dir, 'eval_tta')), ckpt, tta=True, num_images=n_eval)

    _step(5, 'drawing detections (inference API, multi-scale) and plots')
    draw_detections(args, ckpt, data['val_img'], osp.join(args.work_dir, 'vis'))
    plots(args)

    md = results_markdown(results)
    with open(osp.join(args.work_dir, 'metrics.json'), 'w') as f:
        json.dump(dict(results=results, checkpoint=ckpt, config=args.config,
                       train_seconds=round(t_train, 1)), f, indent=2)
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write(md + '\n')
    print('\n' + '=' * 80)
    print(f'ISN demo on the synthetic benchmark (%), {time.time() - t0:.0f} s in all, '
          f'training {t_train:.0f} s')
    print(md)
    print(f'\nwork dir: {args.work_dir} (log, {osp.basename(ckpt)}, metrics.json, results.md, '
          'vis/, scale_distribution.png, chips/)')


if __name__ == '__main__':
    main()
