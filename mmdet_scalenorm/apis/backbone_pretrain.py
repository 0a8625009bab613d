"""Classification pretraining of a detector's backbone on canonical-scale object crops: the
project's stand-in for ImageNet pretraining.

Both papers fine-tune from ImageNet-pretrained backbones, and SNIP's argument rests on it
(SNIP §5): a network pretrained on objects of one canonical resolution is best served by
fine-tuning and testing on objects brought to that resolution ("CNN-B" pretrained on
high-resolution images beats "CNN-S" trained on the low-resolution ones, and fine-tuning it on
upsampled images is better still, SNIP §5, Fig. 4); training all scales in one network spends
capacity on scale variation instead. ISN inherits this (ISN §4.1: ResNet-18/50/101 from
ImageNet). From scratch, a detector can learn every scale at x1, which removes the premise.

No ImageNet can be had here, so this module builds its analogue from a **held-out** synthetic set
(another data seed than the reported benchmark, never its validation split):

* every object whose visible box has ``sqrt(w*h) >= min_size`` (objects that are "photographed
  at high resolution", never upsampled) is cropped as a square of side ``context * max(w, h)``
  centred on its box (image borders padded with the image mean) and resized to
  ``load_size`` px, so every object appears at one canonical size (about
  ``crop_size / context`` px, like ImageNet's objects filling most of its 224-px images);
* the classifier is the detector's own backbone (built from ``cfg.model.backbone``) + global
  average pooling + a linear layer over the benchmark's classes, trained with random
  ``crop_size`` crops and flips, AdamW and a cosine schedule;
* the backbone's ``state_dict`` is saved as ``{'state_dict', 'meta'}``: ``init_cfg=dict(
  type='Pretrained', checkpoint=FILE)`` of the backbone loads it unchanged (see
  :func:`mmdet_scalenorm.utils.config.set_pretrained_backbone`).
"""
import math
import os
import os.path as osp
import sys
import time
from typing import Dict, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['BackboneClassifier', 'crop_window', 'object_crops', 'pretrain_backbone']


def crop_window(box, context: float) -> Tuple[int, int, int]:
    """The square crop of a COCO ``box`` (x, y, w, h): ``(x0, y0, side)`` in integer pixels,
    ``side = ceil(context * max(w, h))`` centred on the box centre (it may leave the image)."""
    x, y, w, h = (float(v) for v in box)
    side = int(math.ceil(context * max(w, h)))
    cx, cy = x + w / 2, y + h / 2
    return int(math.floor(cx - side / 2)), int(math.floor(cy - side / 2)), side


def _square_crop(img: np.ndarray, x0: int, y0: int, side: int) -> np.ndarray:
    """``img[y0:y0+side, x0:x0+side]``, the part outside the image filled with its mean colour."""
    h, w = img.shape[:2]
    out = np.empty((side, side, img.shape[2]), img.dtype)
    out[:] = img.reshape(-1, img.shape[2]).mean(0).astype(img.dtype)
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x0 + side, w), min(y0 + side, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = img[sy0:sy1, sx0:sx1]
    return out


def object_crops(ann_file: str, img_dir: str, min_size: float = 24.0, context: float = 1.5,
                 load_size: int = 72, progress: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """Every object of a COCO file with ``sqrt(w*h) >= min_size`` as a ``load_size`` square
    RGB crop (see the module docstring). Returns ``(crops uint8 [N, S, S, 3], labels int64 [N])``
    with labels the 0-based index of the category in the file's sorted category ids; raises
    ``ValueError`` when no object is large enough."""
    import cv2
    from mmengine.utils import ProgressBar
    from pycocotools.coco import COCO
    if min_size <= 0 or context < 1 or load_size < 8:
        raise ValueError(f'object_crops: need min_size > 0, context >= 1 and load_size >= 8; '
                         f'got {min_size}, {context}, {load_size}')
    coco = COCO(ann_file)
    cat_index = {c: i for i, c in enumerate(sorted(coco.getCatIds()))}
    crops, labels = [], []
    img_ids = sorted(coco.getImgIds())
    bar = ProgressBar(len(img_ids), file=sys.stdout) if progress else None
    for img_id in img_ids:
        info = coco.loadImgs(img_id)[0]
        anns = [a for a in coco.loadAnns(coco.getAnnIds(imgIds=img_id, iscrowd=False))
                if math.sqrt(a['bbox'][2] * a['bbox'][3]) >= min_size]
        if anns:
            img = cv2.imread(osp.join(img_dir, info['file_name']), cv2.IMREAD_COLOR)
            if img is None:
                raise FileNotFoundError(f'object_crops: cannot read image '
                                        f'{osp.join(img_dir, info["file_name"])}')
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
            for a in anns:
                crop = _square_crop(img, *crop_window(a['bbox'], context))
                crops.append(cv2.resize(crop, (load_size, load_size),
                                        interpolation=cv2.INTER_AREA))
                labels.append(cat_index[a['category_id']])
        if bar is not None:
            bar.update()
    if bar is not None:
        print()
    if not crops:
        raise ValueError(f'object_crops: no object of {ann_file} has sqrt(w*h) >= {min_size}')
    return np.stack(crops), np.asarray(labels, dtype=np.int64)


class BackboneClassifier(nn.Module):
    """The backbone of ``backbone_cfg``, global average pooling of its last output, a linear
    layer over ``num_classes``."""

    def __init__(self, backbone_cfg: dict, num_classes: int):
        super().__init__()
        from mmdet.registry import MODELS
        self.backbone = MODELS.build(backbone_cfg)
        with torch.no_grad():
            dim = self.backbone(torch.zeros(1, 3, 64, 64))[-1].shape[1]
        self.fc = nn.Linear(dim, num_classes)

    def forward(self, x):
        return self.fc(self.backbone(x)[-1].mean((2, 3)))


def _batch(crops, labels, idx, crop_size, mean, std, rng, train: bool):
    """Normalised NCHW float tensors of ``crops[idx]``: random ``crop_size`` crops and flips
    when ``train``, centre crops otherwise."""
    s = crops.shape[1]
    out = np.empty((len(idx), crop_size, crop_size, 3), np.float32)
    for k, i in enumerate(idx):
        if train:
            y0, x0 = rng.integers(0, s - crop_size + 1, size=2)
        else:
            y0 = x0 = (s - crop_size) // 2
        c = crops[i, y0:y0 + crop_size, x0:x0 + crop_size]
        out[k] = c[:, ::-1] if train and rng.random() < 0.5 else c
    x = (torch.from_numpy(out) - mean) / std
    return x.permute(0, 3, 1, 2).contiguous(), torch.from_numpy(labels[idx])


def pretrain_backbone(backbone_cfg: dict, train_data: Tuple[np.ndarray, np.ndarray],
                      val_data: Tuple[np.ndarray, np.ndarray], out_file: str,
                      num_classes: int, iters: int = 3000, batch_size: int = 128,
                      crop_size: int = 64, lr: float = 2e-3, weight_decay: float = 0.05,
                      mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375),
                      seed: int = 0, progress: bool = True, meta: dict = None) -> Dict:
    """Train the classifier (module docstring) on ``train_data`` = (RGB crops, labels), report
    top-1 accuracy on ``val_data`` and save the backbone to ``out_file``. ``mean``/``std`` are
    the detector's data_preprocessor's (RGB order). Returns the saved ``meta``."""
    from mmengine.utils import ProgressBar
    crops, labels = train_data
    if crops.shape[1] < crop_size:
        raise ValueError(f'pretrain_backbone: crops of {crops.shape[1]} px are smaller than '
                         f'crop_size={crop_size}')
    if iters < 1 or batch_size < 1:
        raise ValueError(f'pretrain_backbone: iters and batch_size must be >= 1; got {iters}, '
                         f'{batch_size}')
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = BackboneClassifier(backbone_cfg, num_classes)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    warm = max(1, iters // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: min(1.0, (i + 1) / warm) * 0.5 * (1 + math.cos(math.pi * i / iters)))
    mean_t, std_t = torch.tensor(mean, dtype=torch.float32), torch.tensor(std,
                                                                          dtype=torch.float32)
    t0 = time.time()
    bar = ProgressBar(iters, file=sys.stdout) if progress else None
    order, pos, losses = rng.permutation(len(labels)), 0, []
    for _ in range(iters):
        if pos + batch_size > len(order):
            order, pos = rng.permutation(len(labels)), 0
        idx = order[pos:pos + batch_size]
        pos += batch_size
        x, y = _batch(crops, labels, idx, crop_size, mean_t, std_t, rng, train=True)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        if bar is not None:
            bar.update()
    if bar is not None:
        print()
    model.eval()
    vcrops, vlabels = val_data
    correct = 0
    with torch.no_grad():
        for s in range(0, len(vlabels), 256):
            idx = np.arange(s, min(s + 256, len(vlabels)))
            x, y = _batch(vcrops, vlabels, idx, crop_size, mean_t, std_t, rng, train=False)
            correct += int((model(x).argmax(1) == y).sum())
    info = dict(meta or {}, num_train=int(len(labels)), num_val=int(len(vlabels)),
                val_top1=correct / max(1, len(vlabels)), iters=iters, batch_size=batch_size,
                crop_size=crop_size, lr=lr, seed=seed,
                final_loss=float(np.mean(losses[-50:])), train_seconds=time.time() - t0)
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    torch.save(dict(state_dict=model.backbone.state_dict(), meta=info), out_file)
    return info
