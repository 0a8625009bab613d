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


def set_scale_repeats(cfg: Config, scale_repeats) -> Config:
    """Set ``scale_repeats`` (one int per factor, see ``ChipDataset``) of every ``ChipDataset``
    of the training dataloader (in place); raises ``ValueError`` when it has none."""
    hits = [d for d in _walk(cfg.train_dataloader) if d.get('type') == 'ChipDataset']
    if not hits:
        raise ValueError('set_scale_repeats: the training dataloader has no ChipDataset')
    for d in hits:
        d['scale_repeats'] = tuple(scale_repeats)
    return cfg


def set_scale_batches(cfg: Config) -> Config:
    """Batch the training chips one pyramid scale at a time (SNIP §6.1, "one resolution per
    batch"): the training dataloader gets ``ChipScaleBatchSampler`` (in place). Raises
    ``ValueError`` when its dataset is not a ``ChipDataset`` (the sampler groups by chip scale)."""
    if cfg.train_dataloader.get('dataset', {}).get('type') != 'ChipDataset':
        raise ValueError('set_scale_batches: the training dataloader has no ChipDataset')
    cfg.train_dataloader['batch_sampler'] = dict(type='ChipScaleBatchSampler')
    return cfg


def set_neg_proposals(cfg: Config, proposals_file: str) -> Config:
    """Switch SNIPER's negative chips on: every ``ChipDataset`` of the training dataloader mines
    them from ``proposals_file`` (written by ``tools/misc/dump_proposals.py``; in place). Raises
    ``ValueError`` when there is no ChipDataset or its ``neg_chips_per_image`` is 0 (either would
    leave the negatives off)."""
    import inspect
    from mmdet_scalenorm.datasets import ChipDataset
    default = inspect.signature(ChipDataset).parameters['neg_chips_per_image'].default
    hits = [d for d in _walk(cfg.train_dataloader) if d.get('type') == 'ChipDataset']
    if not hits:
        raise ValueError('set_neg_proposals: the training dataloader has no ChipDataset')
    for d in hits:
        if d.get('neg_chips_per_image', default) == 0:
            raise ValueError('set_neg_proposals: neg_chips_per_image is 0 (no negative chip '
                             'would be drawn); set it to a positive int')
        d['neg_proposals_file'] = proposals_file
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


def set_pretrained_backbone(cfg: Config, checkpoint: str, frozen_stages: int = 1,
                            norm_eval: bool = True) -> Config:
    """Fine-tune ``cfg``'s detector from a pretrained backbone (in place), with mmdet's ImageNet
    recipe (its ``faster-rcnn_r50_fpn`` base): ``init_cfg=dict(type='Pretrained',
    checkpoint=checkpoint)``, the stem and the first ``frozen_stages`` stages frozen and the BN
    statistics frozen (``norm_eval``; their affine parameters still train). A checkpoint that
    does not exist is a ``FileNotFoundError`` here, not a silent from-scratch run (mmengine
    only warns when an ``init_cfg`` fails to load)."""
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'set_pretrained_backbone: no backbone checkpoint {checkpoint!r} '
                                f'(tools/misc/pretrain_backbone.py writes one)')
    if not isinstance(frozen_stages, int) or isinstance(frozen_stages, bool) or \
            frozen_stages < -1 or frozen_stages > 4:
        raise ValueError(f'set_pretrained_backbone: frozen_stages must be an int in [-1, 4]; '
                         f'got {frozen_stages!r}')
    backbone = cfg.model.backbone
    backbone['init_cfg'] = dict(type='Pretrained', checkpoint=osp.abspath(checkpoint))
    backbone['frozen_stages'] = frozen_stages
    backbone['norm_eval'] = bool(norm_eval)
    return cfg
