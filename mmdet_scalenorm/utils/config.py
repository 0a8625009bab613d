"""Config edits shared by the demo, the method comparison and the tests."""
import os.path as osp
from typing import Iterator

from mmengine.config import Config, ConfigDict


def _datasets(cfg) -> Iterator[dict]:
    """Yield every dataset dict of the train/val/test dataloaders, wrappers unwrapped."""
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if not loader:
            continue
        ds = loader.get('dataset')
        while ds is not None:
            yield ds
            ds = ds.get('dataset')


def set_data_root(cfg: Config, data_root: str) -> Config:
    """Point every dataset and COCO evaluator of ``cfg`` at ``data_root`` (in place).

    Datasets keep their relative ``ann_file`` and ``data_prefix``; evaluators' ``ann_file`` is
    re-rooted by its path below the old ``data_root``.
    """
    data_root = osp.join(data_root, '')
    old_root = cfg.get('data_root')
    for ds in _datasets(cfg):
        if 'ann_file' in ds or 'data_root' in ds:
            ds['data_root'] = data_root
    for key in ('val_evaluator', 'test_evaluator'):
        ev = cfg.get(key)
        for e in (ev if isinstance(ev, list) else [ev] if ev else []):
            ann = e.get('ann_file')
            if ann and old_root and ann.startswith(old_root):
                e['ann_file'] = data_root + ann[len(old_root):]
    cfg.data_root = data_root
    return cfg


def use_tta(cfg: Config) -> Config:
    """Wrap ``cfg.model`` in ``cfg.tta_model`` and test with ``cfg.tta_pipeline`` (in place), as
    ``tools/test.py --tta`` does."""
    if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
        raise ValueError('the config defines no tta_model/tta_pipeline (see configs/_base_/tta)')
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    return cfg


def _walk(node) -> Iterator[dict]:
    """Every dict inside ``node`` (dicts and lists, depth first), ``node`` included."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from _walk(v)


def set_chip_size(cfg: Config, chip_size: int) -> Config:
    """Set the chip size of every ``ChipDataset`` and ``SampleChip`` of the training dataloader
    (in place); raises ``ValueError`` when the config has neither (the edit would be a no-op)."""
    hits = [d for d in _walk(cfg.train_dataloader) if d.get('type') in ('ChipDataset',
                                                                         'SampleChip')]
    if not hits:
        raise ValueError('set_chip_size: the training dataloader has no ChipDataset/SampleChip')
    for d in hits:
        d['chip_size'] = int(chip_size)
    return cfg


def set_small_invalid_ignore(cfg: Config, enabled: bool) -> Config:
    """Switch the small-invalid-GT rule of every ``ScaleAwareMaxIoUAssigner`` of the model's
    ``train_cfg`` off (``invalid_iof_thr=None``) or back to the configured threshold (in place).
    Raises ``ValueError`` when the config has no such assigner."""
    hits = [d for d in _walk(cfg.model.get('train_cfg', {}))
            if d.get('type') == 'ScaleAwareMaxIoUAssigner']
    if not hits:
        raise ValueError('set_small_invalid_ignore: the model has no ScaleAwareMaxIoUAssigner')
    for d in hits:
        if enabled:
            if d.get('invalid_iof_thr') is None:
                raise ValueError('set_small_invalid_ignore: no invalid_iof_thr configured to '
                                 'switch on')
        else:
            d['invalid_iof_thr'] = None
    return cfg
