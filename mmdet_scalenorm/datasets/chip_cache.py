"""On-disk cache of :class:`~mmdet_scalenorm.datasets.ChipDataset`'s enumeration.

Enumerating every (image, pyramid scale, chip) of COCO takes minutes (SNIPER chips, ISN §3.3.1),
so the arrays are written once to ``<cache_dir>/chip_dataset_<key>.npz`` and reloaded afterwards.

* ``key`` (:func:`cache_key`): the SHA-1 of :data:`CACHE_VERSION`, every chip parameter, the
  annotation file's bytes, the proposals file's bytes, the inner dataset's image list (paths and
  sizes, so ``filter_cfg`` changes miss; the instances too when there is no annotation file) and the
  source of the modules that hold the rule (:mod:`mmdet_scalenorm.chips` and
  :mod:`mmdet_scalenorm.scale`), so a change of the rule never reuses a stale enumeration.
* Location (:func:`resolve_cache_path`): ``cache_dir`` when a path; ``None`` means
  ``<annotation file's directory>/chip_cache``, or ``./chip_cache`` (the directory training was
  started from) when that directory is not writable; ``False`` disables the cache.
* Files are written atomically (several ranks may write the same file; the content is identical);
  an unreadable file is ignored with a warning and recomputed.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import os.path as osp
import tempfile
from typing import Optional, Union

import numpy as np
from mmengine.logging import print_log

from .. import chips as chips_module
from .. import scale as scale_module

__all__ = ['CACHE_VERSION', 'cache_key', 'resolve_cache_path', 'load_cache', 'save_cache',
           'annotation_file']

# Bump when the layout of the arrays or the enumeration rule changes.  2: boxes up to chip_size
# covered (snapped candidate windows), float32 GT as the pipeline, one negative-chip rule.
CACHE_VERSION = 2


def _sha1_file(path: str, h) -> None:
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)


def annotation_file(dataset) -> Optional[str]:
    """The inner dataset's annotation file when it is an existing file, else None."""
    ann = getattr(dataset, 'ann_file', None)
    return ann if isinstance(ann, str) and ann and osp.isfile(ann) else None


def cache_key(dataset, params: dict, proposals_file: Optional[str] = None) -> str:
    """20 hex digits naming the enumeration of ``dataset`` (fully initialised) under ``params``
    (a JSON-able dict of every chip parameter); see the module docstring."""
    h = hashlib.sha1()
    h.update(json.dumps(dict(params, version=CACHE_VERSION), sort_keys=True,
                        default=str).encode())
    ann = annotation_file(dataset)
    h.update(b'ann:')
    if ann is not None:
        _sha1_file(ann, h)
    h.update(b'props:')
    if proposals_file:
        if not osp.isfile(proposals_file):
            raise ValueError(f'neg_proposals_file: no such file {proposals_file!r}')
        _sha1_file(proposals_file, h)
    for module in (chips_module, scale_module):
        h.update(f'{module.__name__}:'.encode())
        _sha1_file(module.__file__, h)
    h.update(b'images:')
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        h.update(f'{info.get("img_path")}|{info.get("width")}|{info.get("height")}\n'.encode())
        if ann is None:  # no annotation file to hash: hash the instances themselves
            for inst in info.get('instances', []):
                h.update(f'{inst.get("bbox")}|{inst.get("ignore_flag", 0)};'.encode())
    return h.hexdigest()[:20]


def resolve_cache_path(cache_dir: Union[str, None, bool], key: str,
                       ann_file: Optional[str]) -> Optional[str]:
    """Where the enumeration named ``key`` lives (None: no cache); see the module docstring."""
    if cache_dir is False:
        return None
    name = f'chip_dataset_{key}.npz'
    if isinstance(cache_dir, str):
        return osp.join(cache_dir, name)
    if ann_file is not None:
        d = osp.join(osp.dirname(osp.abspath(ann_file)), 'chip_cache')
        parent = d if osp.isdir(d) else osp.dirname(d)
        if os.access(parent, os.W_OK):
            return osp.join(d, name)
    return osp.join(osp.abspath('chip_cache'), name)


def load_cache(path: Optional[str]) -> Optional[dict]:
    """The cached arrays, or None (no path, no file, unreadable file)."""
    if path is None or not osp.isfile(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:  # unreadable / truncated: recompute
        print_log(f'ChipDataset: ignoring unreadable cache {path}: {e}', logger='current',
                  level=logging.WARNING)
        return None


def save_cache(path: Optional[str], arrays: dict) -> None:
    """Write ``arrays`` to ``path`` atomically (no-op for None; a warning when not writable)."""
    if path is None:
        return
    try:
        os.makedirs(osp.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=osp.dirname(path), suffix='.npz.tmp')
        with os.fdopen(fd, 'wb') as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except OSError as e:
        print_log(f'ChipDataset: could not write the chip cache {path}: {e}', logger='current',
                  level=logging.WARNING)
