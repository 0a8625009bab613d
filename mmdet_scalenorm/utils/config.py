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
