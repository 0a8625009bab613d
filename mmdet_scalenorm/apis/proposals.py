"""RPN proposals of every training image at every pyramid scale, for SNIPER's negative chips.

SNIPER mines negative chips from the proposals of a briefly trained RPN (SNIPER §3.2; ISN §3.3.1
follows it): regions that hold proposals but no positive chip are where the detector makes its
false positives, so training on them teaches background where it matters.  The two-step flow:

1. train the config briefly (positive chips only, ``neg_proposals_file=None``);
2. ``tools/misc/dump_proposals.py CONFIG CKPT proposals.pkl`` runs the RPN on every training image
   at every pyramid factor of the config (its ``ChipDataset``'s ``scale_factors``) and writes, per
   image, the top-K proposals of each scale mapped back to **original** pixels;
3. train with ``--cfg-options train_dataloader.dataset.neg_proposals_file=proposals.pkl``.

The file is the format ``ChipDataset`` reads (:func:`mmdet_scalenorm.chips.load_proposals`): a
pickle ``{image file basename: (K, 5) float32 array x1, y1, x2, y2, score}`` with an entry (maybe
empty) for every image.  ``ChipDataset`` scales them to each pyramid scale and keeps those valid
there (:func:`mmdet_scalenorm.chips.negative_chip_pool`), so pooling the scales loses nothing.
"""
import copy
import os.path as osp
import pickle
import sys
from typing import Dict, Optional, Sequence

import numpy as np
import torch

PROPOSAL_META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')


def training_images_config(cfg) -> dict:
    """The config of the dataset holding the training images: ``train_dataloader.dataset``, or
    the dataset a ``ChipDataset`` (or other wrapper) wraps."""
    ds = cfg.train_dataloader.dataset
    while 'dataset' in ds:
        ds = ds['dataset']
    return ds


def pyramid_factors(cfg) -> Sequence[float]:
    """The scale factors of the config's ``ChipDataset``; ``ValueError`` when it has none."""
    ds = cfg.train_dataloader.dataset
    while isinstance(ds, dict):
        if ds.get('type') == 'ChipDataset' and ds.get('scale_factors'):
            return tuple(float(f) for f in ds['scale_factors'])
        ds = ds.get('dataset')
    raise ValueError('train_dataloader.dataset is not a ChipDataset with scale_factors; give the '
                     'pyramid factors explicitly (--scales)')


def _resize_and_pack(results: dict, factor: float):
    from mmdet.registry import TRANSFORMS
    resize = TRANSFORMS.build(dict(type='Resize', scale_factor=factor, keep_ratio=True))
    pack = TRANSFORMS.build(dict(type='PackDetInputs', meta_keys=PROPOSAL_META_KEYS))
    return pack(resize(copy.deepcopy(results)))


@torch.no_grad()
def image_proposals(model, results: dict, factors: Sequence[float], topk: int,
                    max_side: Optional[int] = None) -> np.ndarray:
    """(K, 5) float32 proposals of one loaded image (``results`` after ``LoadImageFromFile``):
    the RPN's top ``topk`` by score at each factor, in original-image pixels, clipped to it.
    Factors whose resized image has a side above ``max_side`` are skipped."""
    h, w = results['img'].shape[:2]
    out = []
    for f in factors:
        if max_side is not None and max(h, w) * f > max_side:
            continue
        packed = _resize_and_pack(results, f)
        data = model.data_preprocessor(
            dict(inputs=[packed['inputs']], data_samples=[packed['data_samples']]), False)
        feats = model.extract_feat(data['inputs'])
        (props, ) = model.rpn_head.predict(feats, data['data_samples'], rescale=True)
        order = props.scores.argsort(descending=True)[:topk]
        boxes = props.bboxes[order].float()
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h)
        out.append(torch.cat([boxes, props.scores[order].float()[:, None]], dim=1).cpu().numpy())
    return np.concatenate(out, axis=0).astype(np.float32) if out else \
        np.zeros((0, 5), dtype=np.float32)


def dump_pyramid_proposals(cfg, checkpoint: str, out: str, factors: Optional[Sequence] = None,
                           topk: int = 100, max_side: Optional[int] = None,
                           num_images: Optional[int] = None, device: str = 'cpu',
                           progress: bool = True) -> Dict[str, np.ndarray]:
    """Run the RPN of ``cfg`` + ``checkpoint`` on every training image at every factor and write
    the proposals table to ``out`` (pickle).  Returns the table."""
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    from mmengine.utils import ProgressBar
    from mmdet.registry import DATASETS, MODELS, TRANSFORMS
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    if topk < 1:
        raise ValueError(f'topk must be >= 1; got {topk}')
    factors = tuple(pyramid_factors(cfg) if factors is None else factors)
    if not factors or any(not f > 0 for f in factors):
        raise ValueError(f'scale factors must be numbers > 0; got {factors!r}')
    ds_cfg = copy.deepcopy(training_images_config(cfg))
    ds_cfg['pipeline'] = []
    dataset = DATASETS.build(ds_cfg)
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
    model.to(device).eval()
    load = TRANSFORMS.build(dict(type='LoadImageFromFile',
                                 backend_args=ds_cfg.get('backend_args')))
    n = len(dataset) if num_images is None else min(num_images, len(dataset))
    table = {}
    bar = ProgressBar(n, file=sys.stdout) if progress and n else None
    for i in range(n):
        info = dataset.get_data_info(i)
        key = osp.basename(info['img_path'])
        if key in table:
            raise ValueError(f'two training images share the file name {key!r} (img_id '
                             f"{info.get('img_id')!r}); proposals are keyed by file basename")
        results = load(dict(img_path=info['img_path'], img_id=info.get('img_id')))
        table[key] = image_proposals(model, results, factors, topk, max_side)
        if bar is not None:
            bar.update()
    if bar is not None:
        sys.stdout.write('\n')
    with open(out, 'wb') as f:
        pickle.dump(table, f)
    return table
