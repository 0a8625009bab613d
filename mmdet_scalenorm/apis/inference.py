"""Run a detector with the multi-scale TTA merger on images (SNIP §6.1 / ISN §3.3.1 inference).

``init_scalenorm_detector`` builds the detector with mmdet's ``init_detector`` and, when
``tta=True``, wraps it in the config's ``tta_model`` (e.g. :class:`ScaleNormTTAModel` from
``configs/_base_/scale_norm/isn.py``).  ``inference_scalenorm`` runs it on image paths or numpy arrays
(BGR, like mmdet) through the config's ``tta_pipeline`` and returns one merged ``DetDataSample``
per image.  Without TTA it is mmdet's ``inference_detector``.

Pipeline rules: ``LoadImageFromFile`` becomes ``mmdet.LoadImageFromNDArray`` for arrays, and
``LoadAnnotations`` (evaluation only) is removed, as there is no annotation at inference.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmcv.transforms import Compose
from mmdet.apis import inference_detector, init_detector
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.model import BaseTTAModel
from mmengine.registry import init_default_scope

ImageType = Union[str, Path, np.ndarray]

__all__ = ['init_scalenorm_detector', 'inference_scalenorm']


def init_scalenorm_detector(config: Union[str, Path, Config],
                            checkpoint: Optional[str] = None,
                            device: str = 'cpu',
                            tta: bool = True,
                            cfg_options: Optional[dict] = None) -> torch.nn.Module:
    """Build a detector (mmdet ``init_detector``) and, with ``tta=True``, its TTA wrapper.

    Raises ``ValueError`` when ``tta=True`` and the config has no ``tta_model``/``tta_pipeline``.
    The returned module has ``.cfg`` (the full config) and is in eval mode on ``device``.
    """
    if isinstance(config, (str, Path)):
        config = Config.fromfile(str(config))
    elif not isinstance(config, Config):
        raise ValueError(f'config must be a path or a Config; got {type(config).__name__}')
    if tta and not ('tta_model' in config and 'tta_pipeline' in config):
        raise ValueError('tta=True needs tta_model and tta_pipeline in the config (inherit '
                         'configs/_base_/scale_norm/isn.py or snip.py), or pass tta=False')
    detector = init_detector(config, checkpoint, device=device, cfg_options=cfg_options)
    if not tta:
        return detector
    cfg = detector.cfg
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(dict(**copy.deepcopy(cfg.tta_model), module=detector))
    model.cfg = cfg
    model.to(device)
    model.eval()
    return model


def _strip_annotations(transforms: list) -> list:
    out = []
    for t in transforms:
        if isinstance(t, (list, tuple)):
            inner = _strip_annotations(list(t))
            if inner:
                out.append(inner)
            continue
        t = copy.deepcopy(t)
        if str(t.get('type', '')).split('.')[-1] == 'LoadAnnotations':
            continue
        if 'transforms' in t:
            t['transforms'] = _strip_annotations(t['transforms'])
        out.append(t)
    return out


def _tta_pipeline(cfg: Config, from_array: bool) -> Compose:
    pipeline = _strip_annotations(list(cfg.tta_pipeline))
    if from_array:
        if str(pipeline[0].get('type', '')).split('.')[-1] != 'LoadImageFromFile':
            raise ValueError('tta_pipeline must start with LoadImageFromFile to run on arrays')
        pipeline[0] = dict(type='mmdet.LoadImageFromNDArray')
    return Compose(pipeline)


def inference_scalenorm(
        model: torch.nn.Module,
        imgs: Union[ImageType, Sequence[ImageType]]
) -> Union[DetDataSample, List[DetDataSample]]:
    """Detect objects in one image or a list (paths or BGR arrays), multi-scale when ``model`` is
    a TTA model from :func:`init_scalenorm_detector`.

    Returns a ``DetDataSample`` (list for a list input) whose ``pred_instances`` are in original
    image pixels.
    """
    is_batch = isinstance(imgs, (list, tuple))
    images = list(imgs) if is_batch else [imgs]
    if not isinstance(model, BaseTTAModel):
        res = inference_detector(model, [str(i) if isinstance(i, Path) else i for i in images])
        return res if is_batch else res[0]
    cfg = model.cfg
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    results = []
    for i, img in enumerate(images):
        if isinstance(img, np.ndarray):
            data = _tta_pipeline(cfg, True)(dict(img=img, img_id=i))
        elif isinstance(img, (str, Path)):
            data = _tta_pipeline(cfg, False)(dict(img_path=str(img), img_id=i))
        else:
            raise ValueError(f'images must be paths or numpy arrays; got {type(img).__name__}')
        with torch.no_grad():
            results.append(model.test_step(pseudo_collate([data]))[0])
    return results if is_batch else results[0]
