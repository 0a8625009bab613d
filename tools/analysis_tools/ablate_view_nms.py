"""Compare the per-view R-CNN post-processing (hard NMS, linear or Gaussian soft-NMS) of a trained
model under the config's multi-scale inference, on a held-out split.

ISN §4.1 replaces the NMS after the detection head with soft-NMS; SNIPER's code uses Gaussian
soft-NMS with sigma 0.55. This tool evaluates one checkpoint with each variant of
``model.test_cfg.rcnn.nms`` (the views' post-processing; the merge of the views keeps the
config's ``tta_model``) and prints a markdown table. Tune on a split you do not report: the
default data root is the synthetic benchmark generated with another seed (``--data-seed 1``).

Example::

    python tools/analysis_tools/ablate_view_nms.py \\
        configs/synthetic/isn-faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py CKPT \\
        --data-root data/synthetic_tune --data-seed 1 --num-val 40
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

VARIANTS = {
    'nms 0.5': dict(type='nms', iou_threshold=0.5),
    'soft-NMS linear 0.5': dict(type='soft_nms', iou_threshold=0.5, method='linear',
                                min_score=1e-3),
    'soft-NMS gaussian 0.5': dict(type='soft_nms', iou_threshold=0.5, method='gaussian',
                                  sigma=0.5, min_score=1e-3),
    'soft-NMS gaussian 0.55': dict(type='soft_nms', iou_threshold=0.5, method='gaussian',
                                   sigma=0.55, min_score=1e-3),
}
KEYS = [('AP', 'bbox_mAP'), ('AP50', 'bbox_mAP_50'), ('APs', 'bbox_mAP_s'), ('APm', 'bbox_mAP_m'),
        ('APl', 'bbox_mAP_l'), ('AP[16,560]', 'bbox_mAP_16-560')]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--variants', nargs='+', default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument('--data-root', default=osp.join(REPO, 'data', 'synthetic_tune'))
    p.add_argument('--preset', default='demo')
    p.add_argument('--data-seed', type=int, default=1,
                   help='seed of the generated benchmark (not the reported one: 0)')
    p.add_argument('--num-val', type=int, help='evaluate on the first N images')
    p.add_argument('--single-scale', action='store_true', help='no multi-scale inference')
    p.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'ablate_view_nms'))
    p.add_argument('--out', help='also write the table and the metrics (json) here')
    return p.parse_args(argv)


def table(rows) -> str:
    lines = ['| per-view NMS | ' + ' | '.join(k for k, _ in KEYS) + ' | seconds |',
             '|---|' + '---|' * (len(KEYS) + 1)]
    for name, m, sec in rows:
        cells = [f'{100 * m[key]:.1f}' if m.get(key, -1) >= 0 else 'n/a' for _, key in KEYS]
        lines.append(f'| {name} | ' + ' | '.join(cells) + f' | {sec:.0f} |')
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint not found: {args.checkpoint}')
    from mmdet.utils import register_all_modules
    import mmdet_scalenorm  # noqa: F401
    from mmdet_scalenorm.apis.experiment import evaluate, load_experiment_config
    from mmdet_scalenorm.datasets.synthetic import generate_synthetic_coco
    from mmdet_scalenorm.utils import allow_full_checkpoint_load
    allow_full_checkpoint_load()
    register_all_modules()
    generate_synthetic_coco(args.data_root, preset=args.preset, seed=args.data_seed)
    rows = []
    for name in args.variants:
        cfg = load_experiment_config(args.config, args.data_root,
                                     osp.join(args.work_dir, name.replace(' ', '_')))
        cfg.model.test_cfg.rcnn.nms = dict(VARIANTS[name])
        t0 = time.time()
        m = evaluate(cfg, args.checkpoint, tta=not args.single_scale, num_images=args.num_val)
        rows.append((name, {k.split('/')[-1]: v for k, v in m.items()}, time.time() - t0))
        print(f'[ablate_view_nms] {name}: bbox AP {100 * rows[-1][1]["bbox_mAP"]:.1f}',
              flush=True)
    text = table(rows)
    print('\n' + text)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(dict(table=text, config=args.config, checkpoint=args.checkpoint,
                           data_root=args.data_root, data_seed=args.data_seed,
                           num_val=args.num_val, tta=not args.single_scale,
                           metrics={n: m for n, m, _ in rows}), f, indent=2)


if __name__ == '__main__':
    main()
