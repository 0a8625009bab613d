"""Sweep the per-view test ranges and the merge of a trained model's multi-scale inference, on a
held-out split, running the views once.

SNIP §6.1 and SNIPER give every test resolution its own valid range; ISN §3.3.1 keeps the
training range [16, 560] (resized pixels) in every view. This tool runs the config's 5-scale TTA
once over the first ``--num-val`` images, records every view's detections, then re-merges them with
``ScaleNormTTAModel`` under each variant and evaluates the merged detections with the config's own
test evaluator (``ScaleRangeCocoMetric``: AP, AP50, AP75, APs, APm, APl, AP/AR[16,560]), as the
TTA run itself does: the config's ranges with the config's merge reproduce the run's metrics. A
variant is a lower bound for the coarse views (x0.5 and x0.25: ``--coarse-lo``) with the
linear or the Gaussian merge. Tune on a split you do not report: the default data root is the
benchmark generated with another seed (``--data-seed 1``).

Example::

    python tools/analysis_tools/ablate_view_ranges.py \\
        configs/synthetic/isn-faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py CKPT \\
        --data-root data/synthetic_large_tune --preset large --num-val 80
"""
import argparse
import contextlib
import io
import json
import os
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

MERGES = {
    'linear': dict(type='soft_nms', method='linear', iou_threshold=0.3, sigma=0.5,
                   min_score=1e-3),
    'gaussian': dict(type='soft_nms', method='gaussian', iou_threshold=0.3, sigma=0.5,
                     min_score=1e-3),
}
# (column, metric key of ScaleRangeCocoMetric with its default range)
KEYS = (('AP', 'bbox_mAP'), ('AP50', 'bbox_mAP_50'), ('AP75', 'bbox_mAP_75'),
        ('APs', 'bbox_mAP_s'), ('APm', 'bbox_mAP_m'), ('APl', 'bbox_mAP_l'),
        ('AP[16,560]', 'bbox_mAP_16-560'), ('AR[16,560]', 'bbox_mAR_16-560'))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--coarse-lo', nargs='*', type=float, default=[32, 48, 64, 96, 128],
                   help='lower bounds (resized px) of the x0.5/x0.25 views to try; the range '
                   "without one (the config's) is always measured")
    p.add_argument('--merges', nargs='+', default=list(MERGES), choices=list(MERGES))
    p.add_argument('--data-root', default=osp.join(REPO, 'data', 'synthetic_tune'))
    p.add_argument('--preset', default='demo')
    p.add_argument('--data-seed', type=int, default=1,
                   help='seed of the generated benchmark (not the reported one: 0)')
    p.add_argument('--num-val', type=int, help='evaluate on the first N images')
    p.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'ablate_view_ranges'))
    p.add_argument('--out', help='also write the table and the metrics (json) here')
    args = p.parse_args(argv)
    if args.data_seed == 0:
        p.error('--data-seed 0 is the reported benchmark: tune on another seed')
    return args


def record_views(cfg, checkpoint, num_val):
    """Run the config's TTA once; returns (the TTA model, the run's metrics, [(img_id, [view
    data samples])], its evaluator config, its dataset metainfo)."""
    from mmengine.runner import Runner
    from mmdet_scalenorm.utils.config import use_tta
    cfg = cfg.copy()
    cfg.load_from = checkpoint
    use_tta(cfg)
    if num_val is not None:
        cfg.test_dataloader.dataset.indices = num_val
        cfg.test_evaluator['restrict_to_results'] = True
    cfg.visualizer = dict(type='DetLocalVisualizer', name='ablate_view_ranges')
    runner = Runner.from_cfg(cfg)
    tta = runner.model
    merge = tta._merge_single_sample
    store = []

    def light(sample):
        # the boxes, scores and labels only, copied (a deepcopy of a view tensor would copy
        # its whole storage: the detector's batched outputs)
        from mmdet.structures import DetDataSample
        from mmengine.structures import InstanceData
        p = sample.pred_instances
        out = DetDataSample(metainfo=dict(sample.metainfo))
        out.pred_instances = InstanceData(bboxes=p.bboxes.clone(), scores=p.scores.clone(),
                                          labels=p.labels.clone())
        return out

    def recording(samples):
        store.append((samples[0].metainfo['img_id'], [light(s) for s in samples]))
        return merge(samples)

    tta._merge_single_sample = recording
    try:
        metrics = runner.test()
    finally:  # the re-merges must not record (nor grow the list they iterate over)
        del tta._merge_single_sample
    evaluator = dict(cfg.test_evaluator, restrict_to_results=True)
    return tta, metrics, store, evaluator, runner.test_dataloader.dataset.metainfo


def remerge(tta, store, coarse_lo, merge, coarse_factors=(0.5, 0.25)):
    """The merged ``DetDataSample`` of every recorded image: its views filtered and merged by
    ``tta`` (a ``ScaleNormTTAModel``) with the coarse views'
    range raised to start at ``coarse_lo`` resized px (None: the config's ranges) and the
    ``merge`` of ``MERGES``."""
    from mmdet_scalenorm.scale import parse_range
    saved = tta.tta_cfg.nms
    tta.tta_cfg.nms = dict(MERGES[merge])
    out = []
    try:
        for img_id, views in store:
            views = [v.clone() for v in views]
            for i, v in enumerate(views):
                f = float(v.metainfo['scale_factor'][0])
                if coarse_lo is None or not any(abs(f - c) < 1e-2 * c for c in coarse_factors):
                    continue
                rng = tta._view_range(i, len(views), v.metainfo)
                if rng is not None and rng[2] != 'resized':
                    raise ValueError('--coarse-lo needs ranges in resized pixels (ISN-style '
                                     f'valid_range); view {i} has {rng}')
                lo, hi = rng[:2] if rng is not None else (0.0, float('inf'))
                v.set_metainfo(dict(valid_range=parse_range((max(lo, coarse_lo), hi))))
            out.append(tta._merge_single_sample(views))
    finally:
        tta.tta_cfg.nms = saved
    return out


def evaluate(evaluator, dataset_meta, samples):
    """``{column: value}`` of KEYS for the merged ``samples``, by the test ``evaluator`` config
    (a fresh metric, as a test run builds it, on the images of ``samples``); a metric the
    evaluator cannot compute (no detection at all) is 0."""
    from mmdet.registry import METRICS
    from mmengine.logging import MMLogger
    metric = METRICS.build(dict(evaluator))
    metric.dataset_meta = dataset_meta
    metric.process({}, [s.to_dict() for s in samples])
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('ERROR')  # the per-variant COCO summaries
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            m = metric.evaluate(len(samples))
    finally:
        logger.setLevel(level)
    m = {k.split('/')[-1]: v for k, v in m.items()}
    return {col: float(m.get(key, 0.0)) for col, key in KEYS}


def main(argv=None):
    args = parse_args(argv)
    from mmdet_scalenorm.apis.experiment import load_experiment_config
    from mmdet_scalenorm.datasets.synthetic import generate_synthetic_coco
    from mmdet_scalenorm.utils.checkpoint import allow_full_checkpoint_load
    allow_full_checkpoint_load()
    generate_synthetic_coco(args.data_root, preset=args.preset, seed=args.data_seed)
    cfg = load_experiment_config(args.config, args.data_root, args.work_dir)
    tta, metrics, store, evaluator, meta = record_views(cfg, args.checkpoint, args.num_val)
    rows = []
    for lo in [None] + list(args.coarse_lo):
        for merge in args.merges:
            name = (f'x0.5/x0.25 from {lo:g} px' if lo is not None else "config's ranges") + \
                f', {merge} merge'
            rows.append((name, evaluate(evaluator, meta, remerge(tta, store, lo, merge))))
    cols = [c for c, _ in KEYS]
    lines = ['| views, merge | ' + ' | '.join(cols) + ' |', '|---|' + '---|' * len(cols)]
    lines += [f'| {n} | ' + ' | '.join(f'{100 * m[c]:.1f}' for c in cols) + ' |'
              for n, m in rows]
    text = '\n'.join(lines)
    print(text)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            f.write(text + '\n')
        with open(osp.splitext(args.out)[0] + '.json', 'w') as f:
            json.dump(dict(config=args.config, checkpoint=args.checkpoint, tta_metrics=metrics,
                           images=[i for i, _ in store],
                           rows=[dict(variant=n, **m) for n, m in rows]), f, indent=2)
    return rows


if __name__ == '__main__':
    main()
