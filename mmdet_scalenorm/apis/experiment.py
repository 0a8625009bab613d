"""Train and evaluate a config in-process: the engine of `make demo` and of
``tools/analysis_tools/compare_methods.py`` (same budget, same data, same metric for every method).
"""
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

from ..utils.config import set_data_root, use_tta

ISN_RANGE = (16, 560)
# evaluators that take scale_ranges (ScaleRangeCocoMetric and its subclasses): kept as configured
RANGE_METRICS = ('ScaleRangeCocoMetric', 'CocoKeypointMetric')


def _range_key(rng) -> str:
    from ..evaluation.metrics.scale_range_coco_metric import range_key
    return range_key(rng)


def load_experiment_config(config: str, data_root: str, work_dir: str, seed: int = 0,
                           workers: int = 1,
                           scale_ranges: Sequence[Tuple[float, float]] = (ISN_RANGE, ),
                           batch_size: Optional[int] = None) -> Config:
    """``config`` pointed at ``data_root``, evaluated with ScaleRangeCocoMetric(scale_ranges)
    (a config's CocoKeypointMetric stays one, with these ranges)."""
    cfg = Config.fromfile(config)
    set_data_root(cfg, data_root)
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=seed)
    for key in ('val_evaluator', 'test_evaluator'):
        kind = cfg[key].get('type')
        cfg[key] = dict(cfg[key], type=kind if kind in RANGE_METRICS else 'ScaleRangeCocoMetric',
                        scale_ranges=[tuple(r) for r in scale_ranges])
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].num_workers = workers
        cfg[key].persistent_workers = False
    if batch_size is not None:
        cfg.train_dataloader.batch_size = batch_size
    return cfg


def set_iterations(cfg: Config, iters: int) -> Config:
    """Shorten/lengthen an iteration-based schedule, keeping its shape (warm-up, LR steps at
    the same fractions of training), and checkpoint at the end only."""
    old = cfg.train_cfg.max_iters
    cfg.train_cfg.max_iters = iters
    cfg.default_hooks.checkpoint.interval = iters
    for s in cfg.param_scheduler:
        if s.get('by_epoch', True):
            continue
        if s.get('type') == 'MultiStepLR':
            s['milestones'] = [max(1, round(m * iters / old)) for m in s['milestones']]
        if 'end' in s:
            s['end'] = max(1, round(s['end'] * iters / old))
    return cfg


def _own_visualizer(cfg: Config) -> Config:
    """Give the run a visualizer of its own: mmengine's visualizers are named singletons, so a
    second Runner in the same process with the config's fixed name ('visualizer') would write its
    scalars into the first run's ``vis_data``."""
    if cfg.get('visualizer') is not None:
        cfg.visualizer['name'] = f'visualizer:{osp.abspath(cfg.work_dir)}:{time.time_ns()}'
    return cfg


def train(cfg: Config) -> str:
    """Train ``cfg`` (no validation during training) and return its final checkpoint."""
    from mmengine.runner import Runner
    cfg.train_cfg.val_begin = cfg.train_cfg.max_iters + 1
    _own_visualizer(cfg)
    Runner.from_cfg(cfg).train()
    ckpt = osp.join(cfg.work_dir, f'iter_{cfg.train_cfg.max_iters}.pth')
    if not osp.exists(ckpt):
        raise RuntimeError(f'training did not write {ckpt}')
    return ckpt


def evaluate(cfg: Config, checkpoint: str, tta: bool = False,
             num_images: Optional[int] = None) -> Dict[str, float]:
    """Test ``checkpoint`` with ``cfg`` (multi-scale when ``tta``), on the first ``num_images``
    test images when given (and evaluated on those only). Returns the metric dict."""
    from mmengine.runner import Runner
    cfg = cfg.copy()
    cfg.load_from = checkpoint
    if tta:
        use_tta(cfg)
    if num_images is not None:
        cfg.test_dataloader.dataset.indices = num_images
        # evaluate on those images only (else the GT of the others count as missed)
        evs = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [cfg.test_evaluator]
        for ev in evs:
            if ev.get('type') in RANGE_METRICS:
                ev['restrict_to_results'] = True
    _own_visualizer(cfg)
    return Runner.from_cfg(cfg).test()


def metrics_table(rows: List[Tuple[Sequence[str], Dict[str, float]]],
                  first_cols: Sequence[str] = ('evaluation', ),
                  scale_range=ISN_RANGE, metric: str = 'bbox') -> str:
    """Markdown table of COCO ``metric`` ('bbox', 'segm' or 'keypoints') AP (in %) and AP/AR
    within ``scale_range`` (no APs column for keypoints: COCO's keypoint evaluation has none).

    ``rows`` are ``(leading cells, metrics)``; a metric of -1 (no GT in the range) is 'n/a'."""
    rk = _range_key(scale_range)
    lo, hi = rk.split('-')
    m = metric
    keys = [('AP', f'{m}_mAP'), ('AP50', f'{m}_mAP_50'), ('AP75', f'{m}_mAP_75'),
            ('APs', f'{m}_mAP_s'), ('APm', f'{m}_mAP_m'), ('APl', f'{m}_mAP_l'),
            (f'AP[{lo},{hi}]', f'{m}_mAP_{rk}'), (f'AR[{lo},{hi}]', f'{m}_mAR_{rk}')]
    keys = [k for k in keys if not (m == 'keypoints' and k[0] == 'APs')]
    header = list(first_cols) + [k for k, _ in keys]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for cells, metrics in rows:
        short = {k.split('/')[-1]: v for k, v in metrics.items()}
        vals = []
        for _, key in keys:
            v = short.get(key)
            vals.append('n/a' if v is None or v < 0 else f'{100 * v:.1f}')
        lines.append('| ' + ' | '.join(list(cells) + vals) + ' |')
    return '\n'.join(lines)
