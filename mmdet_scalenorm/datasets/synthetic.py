"""Synthetic extreme-scale benchmark: COCO boxes, exact masks and keypoints.

The ISN paper (§1, Fig. 1) motivates scale normalization with the extreme scale variation of COCO:
objects from a few pixels to most of the image.  No COCO can be downloaded here, so this module
renders a small benchmark with that property, deterministically from a seed:

* object sizes ``sqrt(w*h)`` log-uniform in ``obj_size_range`` (default about 6 px to 600 px),
  clipped to ``0.8 * min(H, W)`` so every object fits its image; images of mixed sizes;
* textured clutter backgrounds: low-frequency colour noise, random stripes across the image and
  amorphous blobs, none of which are objects;
* five classes told apart by **shape and texture** at every size, their colours overlapping
  (hue centres 72 deg apart, each drawn +-50 deg around its centre, so colour alone is ambiguous):

  ========== ============================= ============================================
  class      shape                         texture
  ========== ============================= ============================================
  disc       ellipse                       concentric rings
  rectangle  rotated rectangle             parallel stripes along its long side
  triangle   random rotated triangle       checkerboard
  star       five-pointed star             speckle (random dots)
  figure     stick figure (articulated)    two-tone gradient from head to feet
  ========== ============================= ============================================

* occlusions: objects are painted one after the other (larger first, with a random jitter of the
  order), later ones covering earlier ones.  A placement is re-drawn (``placement_tries`` times,
  then the object is skipped) when it would leave any earlier object with less than
  ``min_visible`` of its own pixels, so no painted object is "mostly occluded" and unannotated.
  Boxes, masks and ``area`` describe the **visible** part only, read from the rendered label map;
  masks are COCO RLE (exact, ``pycocotools.mask.encode``), ``bbox == toBbox(rle)``, ``area`` =
  mask pixel count, ``iscrowd = 0``.  Visible parts smaller than ``min_area`` pixels are dropped.
* the articulated class ``figure`` carries 13 COCO keypoints (``head`` and left/right
  shoulder, elbow, hand, hip, knee, foot).  The category stores ``keypoints`` (names),
  ``skeleton`` (1-based pairs, COCO style) and ``flip_pairs`` (0-based index pairs, the
  ``left_``/``right_`` names).  Keypoint coordinates are pixel centres (``col + 0.5``).
  Visibility: ``v=2`` when the keypoint's pixel belongs to the figure's visible mask, ``v=1`` when
  it is occluded but still inside the visible box, ``v=0`` with ``x = y = 0`` otherwise (occluded
  outside the visible box: not labelled, as COCO does for parts it cannot place).  Only figure
  annotations have ``keypoints`` / ``num_keypoints``.

Layout (the contract in notes/contracts.md)::

    out_dir/train/000000.jpg ...   out_dir/val/000000.jpg ...
    out_dir/annotations/instances_train.json, instances_val.json
    out_dir/manifest.json          preset, seed, resolved params, sha256 of the annotation files
                                   and of each split's images

Each image ``i`` of a split draws from its own ``numpy.random.default_rng([seed, split, i])``
(no global RNG), so image ``i`` is identical whatever ``num_train``/``num_val`` are.  A second
call with the same (preset, seed, params) finds the manifest, checks the checksums of the
annotation files and images, and returns without writing anything; any difference regenerates
everything.
:func:`verify_synthetic_coco` checks an existing folder and names the file at fault.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np
from pycocotools import mask as mask_utils

__all__ = [
    'SYNTHETIC_CLASSES', 'SYNTHETIC_PALETTE', 'SYNTHETIC_METAINFO', 'FIGURE_KEYPOINTS',
    'FIGURE_SKELETON', 'FIGURE_FLIP_PAIRS', 'PRESETS', 'generate_synthetic_coco',
    'resolve_params', 'verify_synthetic_coco'
]

GENERATOR_VERSION = 1

SYNTHETIC_CLASSES = ('disc', 'rectangle', 'triangle', 'star', 'figure')
SYNTHETIC_PALETTE = [(220, 20, 60), (119, 172, 48), (0, 114, 189), (237, 177, 32),
                     (126, 47, 142)]
SYNTHETIC_METAINFO = dict(classes=SYNTHETIC_CLASSES, palette=SYNTHETIC_PALETTE)

FIGURE_KEYPOINTS = ('head', 'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow',
                    'left_hand', 'right_hand', 'left_hip', 'right_hip', 'left_knee',
                    'right_knee', 'left_foot', 'right_foot')
# 1-based index pairs, as COCO's person category writes its skeleton.
FIGURE_SKELETON = [[1, 2], [1, 3], [2, 3], [2, 4], [4, 6], [3, 5], [5, 7], [2, 8], [3, 9],
                   [8, 9], [8, 10], [10, 12], [9, 11], [11, 13]]
# 0-based index pairs swapped by a horizontal flip.
FIGURE_FLIP_PAIRS = [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12]]

PRESETS: Dict[str, dict] = {
    'tiny': dict(num_train=6, num_val=4, img_size_range=(128, 320), obj_size_range=(6, 200),
                 min_objects=3, max_objects=8),
    'demo': dict(num_train=400, num_val=80, img_size_range=(256, 640),
                 obj_size_range=(6, 400), min_objects=4, max_objects=16),
    # SNIPER's operating point: images larger than a chip, where full-image training costs
    # several times a chip's iteration (the equal-wall-time comparison of compare_methods.py).
    'large': dict(num_train=400, num_val=80, img_size_range=(320, 960),
                  obj_size_range=(6, 600), min_objects=4, max_objects=16),
}
DEFAULTS = dict(min_visible=0.5, min_area=4, placement_tries=10, img_format='jpg',
                jpg_quality=92, clutter=1.0)
_SPLITS = ('train', 'val')
_HUE_CENTRES = (0.0, 72.0, 144.0, 216.0, 288.0)  # degrees, one per class
_HUE_SPREAD = 50.0


# ----------------------------------------------------------------------------- parameters
def _check_int(params, key, lo, hi=None):
    v = params[key]
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo or (
            hi is not None and v > hi):
        allowed = f'an int >= {lo}' + (f' and <= {hi}' if hi is not None else '')
        raise ValueError(f'{key} must be {allowed}; got {v!r}')
    params[key] = int(v)


def _check_pair(params, key, lo, hi, integer):
    v = params[key]
    allowed = f'(lo, hi) with {lo} <= lo <= hi <= {hi}'
    try:
        a, b = v
        ok = all(not isinstance(x, bool) and isinstance(x, (int, float, np.number))
                 and math.isfinite(x) for x in (a, b))
    except (TypeError, ValueError):
        ok = False
    if not ok or not lo <= a <= b <= hi:
        raise ValueError(f'{key} must be {allowed}; got {v!r}')
    params[key] = (int(a), int(b)) if integer else (float(a), float(b))


def resolve_params(preset: str = 'tiny', **overrides) -> dict:
    """Preset values updated by ``overrides``, validated (``ValueError`` naming the key)."""
    if preset not in PRESETS:
        raise ValueError(f'preset must be one of {sorted(PRESETS)}; got {preset!r}')
    params = dict(DEFAULTS, **PRESETS[preset])
    for key, value in overrides.items():
        if key not in params:
            raise ValueError(f'unknown synthetic dataset parameter {key!r}; allowed: '
                             f'{sorted(params)}')
        params[key] = value
    _check_int(params, 'num_train', 1)
    _check_int(params, 'num_val', 1)
    _check_pair(params, 'img_size_range', 32, 8192, integer=True)
    _check_pair(params, 'obj_size_range', 2, 8192, integer=False)
    _check_int(params, 'min_objects', 0)
    _check_int(params, 'max_objects', 1, 1000)
    if params['min_objects'] > params['max_objects']:
        raise ValueError(f'min_objects must be <= max_objects={params["max_objects"]}; got '
                         f'{params["min_objects"]}')
    if params['obj_size_range'][0] > 0.8 * params['img_size_range'][0]:
        raise ValueError(f'obj_size_range must start below 0.8 * the smallest image side '
                         f'({0.8 * params["img_size_range"][0]:g}); got '
                         f'{params["obj_size_range"]!r}')
    mv = params['min_visible']
    if isinstance(mv, bool) or not isinstance(mv, (int, float)) or not 0 < mv <= 1:
        raise ValueError(f'min_visible must be a number in (0, 1]; got {mv!r}')
    params['min_visible'] = float(mv)
    _check_int(params, 'min_area', 1)
    _check_int(params, 'placement_tries', 1, 1000)
    if params['img_format'] not in ('jpg', 'png'):
        raise ValueError(f"img_format must be 'jpg' or 'png'; got {params['img_format']!r}")
    _check_int(params, 'jpg_quality', 50, 100)
    cl = params['clutter']
    if isinstance(cl, bool) or not isinstance(cl, (int, float)) or not 0 <= cl <= 10:
        raise ValueError(f'clutter must be a number in [0, 10]; got {cl!r}')
    params['clutter'] = float(cl)
    return params


# ----------------------------------------------------------------------------- colours
def _hsv_to_rgb(h_deg: float, s: float, v: float) -> np.ndarray:
    hsv = np.array([[[h_deg % 360.0 / 2.0, s * 255.0, v * 255.0]]], dtype=np.float32)
    hsv = np.clip(np.round(hsv), 0, 255).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)


def _class_colours(cls: int, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    hue = _HUE_CENTRES[cls] + rng.uniform(-_HUE_SPREAD, _HUE_SPREAD)
    c1 = _hsv_to_rgb(hue, rng.uniform(0.5, 1.0), rng.uniform(0.55, 1.0))
    c2 = _hsv_to_rgb(hue + rng.uniform(-30, 30), rng.uniform(0.2, 0.9), rng.uniform(0.1, 0.5))
    return c1, c2


def _grid(h: int, w: int, offset: float = 0.0) -> Tuple[np.ndarray, np.ndarray]:
    """Broadcastable float32 row (h, 1) and column (1, w) pixel coordinates."""
    return (np.arange(h, dtype=np.float32)[:, None] + offset,
            np.arange(w, dtype=np.float32)[None, :] + offset)


# ----------------------------------------------------------------------------- background
def _render_background(rng: np.random.Generator, h: int, w: int, clutter: float) -> np.ndarray:
    """Colour noise + stripes + amorphous blobs (float32 RGB, 0..255). Nothing here is an object."""
    base = rng.uniform(40, 200, size=3).astype(np.float32)
    gh, gw = int(rng.integers(3, 9)), int(rng.integers(3, 9))
    low = rng.uniform(-60, 60, size=(gh, gw, 3)).astype(np.float32)
    img = base + cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC)
    n_stripes = int(rng.poisson(4 * clutter))
    for _ in range(n_stripes):
        colour = tuple(float(c) for c in rng.uniform(0, 255, size=3))
        thick = int(rng.integers(1, max(2, min(h, w) // 30) + 1))
        p1 = (int(rng.integers(-w // 4, w + w // 4)), int(rng.integers(-h // 4, h + h // 4)))
        ang = rng.uniform(0, np.pi)
        length = 2 * (h + w)
        p2 = (int(p1[0] + length * np.cos(ang)), int(p1[1] + length * np.sin(ang)))
        p0 = (int(p1[0] - length * np.cos(ang)), int(p1[1] - length * np.sin(ang)))
        cv2.line(img, p0, p2, colour, thick, lineType=cv2.LINE_8)
    n_blobs = int(rng.poisson(3 * clutter))
    for _ in range(n_blobs):
        bs = int(np.exp(rng.uniform(np.log(20), np.log(max(21, min(h, w) * 0.6)))))
        bh = min(h, max(4, int(bs * rng.uniform(0.6, 1.6))))
        bw = min(w, max(4, int(bs * rng.uniform(0.6, 1.6))))
        field = cv2.resize(rng.random((6, 6)).astype(np.float32), (bw, bh),
                           interpolation=cv2.INTER_CUBIC)
        yy, xx = _grid(bh, bw)
        fall = ((yy / bh - 0.5) ** 2 + (xx / bw - 0.5) ** 2) * 2.5
        blob = (field - fall) > 0.45
        y0, x0 = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
        colour = rng.uniform(0, 255, size=3).astype(np.float32)
        noise = 18 * rng.standard_normal(size=(bh, bw, 1), dtype=np.float32)
        win = img[y0:y0 + bh, x0:x0 + bw]
        win[blob] = (colour + noise)[blob]
    return img


# ----------------------------------------------------------------------------- shapes
def _rot(points: np.ndarray, ang: float) -> np.ndarray:
    c, s = np.cos(ang), np.sin(ang)
    return points @ np.array([[c, s], [-s, c]], dtype=np.float64)


def _fit(points: np.ndarray, scale: float, pad: float) -> Tuple[np.ndarray, int, int]:
    """Scale points uniformly so their extent has sqrt(w*h) == scale; shift to (pad, pad)."""
    mn, mx = points.min(0), points.max(0)
    ext = np.maximum(mx - mn, 1e-6)
    f = scale / np.sqrt(ext[0] * ext[1])
    pts = (points - mn) * f + pad
    w = int(np.ceil(ext[0] * f + 2 * pad)) + 1
    h = int(np.ceil(ext[1] * f + 2 * pad)) + 1
    return pts, h, w


def _poly_mask(points: np.ndarray, h: int, w: int) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    # Sub-pixel vertices (shift=4); pixel centres are at integer coordinates for cv2.
    pts = np.round((points - 0.5) * 16).astype(np.int32)
    cv2.fillPoly(mask, [pts], 1, lineType=cv2.LINE_8, shift=4)
    return mask


def _disc(rng, scale):
    ar = np.exp(rng.uniform(np.log(0.6), np.log(1.6)))
    a, b = scale * np.sqrt(ar) / 2, scale / np.sqrt(ar) / 2
    h, w = int(np.ceil(2 * b)) + 2, int(np.ceil(2 * a)) + 2
    yy, xx = _grid(h, w, 0.5)
    mask = (((xx - w / 2) / a) ** 2 + ((yy - h / 2) / b) ** 2 <= 1.0).astype(np.uint8)
    return mask, None


def _rectangle(rng, scale):
    ar = np.exp(rng.uniform(np.log(0.35), np.log(2.8)))
    pts = np.array([[0, 0], [ar, 0], [ar, 1], [0, 1]], np.float64)
    pts = _rot(pts, np.deg2rad(rng.uniform(-25, 25)))
    pts, h, w = _fit(pts, scale, 0.5)
    return _poly_mask(pts, h, w), None


def _triangle(rng, scale):
    pts = np.array([[0, 0], [1, 0], [rng.uniform(0.2, 0.8), rng.uniform(0.7, 1.2)]])
    pts = _rot(pts, rng.uniform(0, 2 * np.pi))
    pts, h, w = _fit(pts, scale, 0.5)
    return _poly_mask(pts, h, w), None


def _star(rng, scale):
    inner = rng.uniform(0.38, 0.5)
    ang = np.arange(10) * np.pi / 5 + rng.uniform(0, 2 * np.pi)
    r = np.where(np.arange(10) % 2 == 0, 1.0, inner)
    pts = np.stack([r * np.cos(ang), r * np.sin(ang)], 1)
    pts, h, w = _fit(pts, scale, 0.5)
    return _poly_mask(pts, h, w), None


def _figure_pose(rng) -> np.ndarray:
    """13 keypoints of a standing / walking / waving stick figure, y down, height about 1."""
    def limb(origin, ang_deg, length):
        a = np.deg2rad(ang_deg)  # 0 = straight down, positive = towards +x
        return origin + length * np.array([np.sin(a), np.cos(a)])

    sw, hw = rng.uniform(0.09, 0.14), rng.uniform(0.05, 0.08)
    neck = np.array([0.0, 0.18])
    head = np.array([0.0, 0.07])
    l_sh, r_sh = neck + [sw, 0.0], neck + [-sw, 0.0]
    pelvis = np.array([rng.uniform(-0.03, 0.03), 0.55])
    l_hip, r_hip = pelvis + [hw, 0.0], pelvis + [-hw, 0.0]
    kp = {'head': head, 'left_shoulder': l_sh, 'right_shoulder': r_sh,
          'left_hip': l_hip, 'right_hip': r_hip}
    for side, sign, sh, hip in (('left', 1, l_sh, l_hip), ('right', -1, r_sh, r_hip)):
        upper = sign * rng.uniform(-20, 150)
        elbow = limb(sh, upper, 0.17)
        hand = limb(elbow, upper + sign * rng.uniform(-60, 90), 0.16)
        thigh = sign * rng.uniform(-25, 40)
        knee = limb(hip, thigh, 0.22)
        foot = limb(knee, thigh - sign * rng.uniform(0, 50), 0.22)
        kp.update({f'{side}_elbow': elbow, f'{side}_hand': hand, f'{side}_knee': knee,
                   f'{side}_foot': foot})
    pts = np.stack([kp[n] for n in FIGURE_KEYPOINTS]).astype(np.float64)
    if rng.random() < 0.5:  # facing the other way: mirror x, keep the names anatomical
        pts[:, 0] = -pts[:, 0]
    return pts


def _figure(rng, scale):
    pts = _figure_pose(rng)
    head_r = 0.07
    ext_pts = np.concatenate([pts, pts[:1] + [[-head_r, -head_r], [head_r, head_r]]])
    mn = ext_pts.min(0)
    ext = ext_pts.max(0) - mn
    f = scale / np.sqrt(ext[0] * ext[1])
    thick = max(1, int(round(0.045 * f)))
    pad = thick + 1
    pts = (pts - mn) * f + pad
    w = int(np.ceil(ext[0] * f)) + 2 * pad + 1
    h = int(np.ceil(ext[1] * f)) + 2 * pad + 1
    ipts = np.floor(pts).astype(np.int32)
    mask = np.zeros((h, w), np.uint8)
    neck = tuple(((ipts[1] + ipts[2]) // 2).tolist())
    pelvis = tuple(((ipts[7] + ipts[8]) // 2).tolist())
    cv2.line(mask, neck, pelvis, 1, thick)
    for a, b in FIGURE_SKELETON:
        if (a, b) in ((1, 2), (1, 3)):
            continue
        cv2.line(mask, tuple(ipts[a - 1].tolist()), tuple(ipts[b - 1].tolist()), 1, thick)
    cv2.line(mask, tuple(ipts[0].tolist()), neck, 1, thick)
    cv2.circle(mask, tuple(ipts[0].tolist()), max(1, int(round(head_r * f))), 1, -1)
    for p in ipts:  # every keypoint pixel belongs to the figure
        mask[p[1], p[0]] = 1
    return mask, ipts


_SHAPES = (_disc, _rectangle, _triangle, _star, _figure)


def _texture(cls: int, mask: np.ndarray, rng: np.random.Generator, scale: float) -> np.ndarray:
    """(h, w, 3) float32 colours of class ``cls`` with its own pattern (see the module table)."""
    h, w = mask.shape
    c1, c2 = _class_colours(cls, rng)
    yy, xx = _grid(h, w)
    period = max(3.0, scale / rng.uniform(3.0, 6.0))
    if cls == 0:  # concentric rings
        r = np.sqrt((yy - h / 2) ** 2 + (xx - w / 2) ** 2)
        p = (np.sin(2 * np.pi * r / period) > 0).astype(np.float32)
    elif cls == 1:  # stripes along the long side
        ang = 0.0 if w >= h else np.pi / 2
        ang += rng.uniform(-0.3, 0.3)
        u = -xx * np.sin(ang) + yy * np.cos(ang)
        p = (np.sin(2 * np.pi * u / period) > 0).astype(np.float32)
    elif cls == 2:  # checkerboard
        p = ((np.floor(xx / (period / 2)) + np.floor(yy / (period / 2))) % 2).astype(np.float32)
    elif cls == 3:  # speckle
        p = (rng.random((h, w)) < 0.3).astype(np.float32)
    else:  # two-tone gradient, head to feet
        p = yy / max(h - 1, 1)
    tex = c1 + (c2 - c1) * p[..., None]
    tex = tex + 6 * rng.standard_normal(size=(h, w, 1), dtype=np.float32)
    return tex


# ----------------------------------------------------------------------------- one image
def _render_image(rng: np.random.Generator, params: dict):
    """Render one image; returns (uint8 RGB image, list of annotation dicts without ids)."""
    lo_side, hi_side = params['img_size_range']
    h, w = (int(v) for v in rng.integers(lo_side, hi_side + 1, size=2))
    img = _render_background(rng, h, w, params['clutter'])
    label = np.zeros((h, w), np.int32)
    n = int(rng.integers(params['min_objects'], params['max_objects'] + 1))
    lo_obj = params['obj_size_range'][0]
    hi_obj = min(params['obj_size_range'][1], 0.8 * min(h, w))
    lo_obj = min(lo_obj, hi_obj)
    scales = np.exp(rng.uniform(np.log(lo_obj), np.log(hi_obj), size=n))
    classes = rng.integers(0, len(SYNTHETIC_CLASSES), size=n)
    order = np.argsort(-(scales * np.exp(rng.normal(0, 0.5, size=n))), kind='stable')
    full_area: List[int] = [0]  # index 0 = background
    visible: List[int] = [0]
    objects = []  # (cls, window y0, x0, keypoints in window coords or None)
    min_visible = params['min_visible']
    for k in order:
        cls, scale = int(classes[k]), float(scales[k])
        mask, kps = _SHAPES[cls](rng, scale)
        ys, xs = np.nonzero(mask)
        if len(ys) == 0:
            continue
        y_a, y_b, x_a, x_b = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        mask = mask[y_a:y_b, x_a:x_b].astype(bool)
        if kps is not None:
            kps = kps - [x_a, y_a]
        mh, mw = mask.shape
        if mh > h or mw > w:
            continue
        placed = None
        for _ in range(params['placement_tries']):
            y0, x0 = int(rng.integers(0, h - mh + 1)), int(rng.integers(0, w - mw + 1))
            covered = np.bincount(label[y0:y0 + mh, x0:x0 + mw][mask],
                                  minlength=len(full_area))
            left = np.asarray(visible) - covered
            if np.all(left[1:] >= min_visible * np.asarray(full_area[1:])):
                placed = (y0, x0, covered)
                break
        if placed is None:
            continue
        y0, x0, covered = placed
        tex = _texture(cls, mask, rng, scale)
        img[y0:y0 + mh, x0:x0 + mw][mask] = tex[mask]
        label[y0:y0 + mh, x0:x0 + mw][mask] = len(full_area)
        visible = list(np.asarray(visible) - covered)
        area = int(mask.sum())
        full_area.append(area)
        visible.append(area)
        objects.append((cls, y0, x0, mh, mw, kps))
    img += 3 * rng.standard_normal(size=img.shape, dtype=np.float32)  # sensor noise
    img = np.clip(np.round(img), 0, 255).astype(np.uint8)

    anns = []
    for idx, (cls, y0, x0, mh, mw, kps) in enumerate(objects, start=1):
        win = label[y0:y0 + mh, x0:x0 + mw] == idx
        area = int(win.sum())
        if area < params['min_area']:
            continue
        full = np.zeros((h, w), np.uint8, order='F')
        full[y0:y0 + mh, x0:x0 + mw] = win
        rle = mask_utils.encode(full)
        bbox = [float(v) for v in mask_utils.toBbox(rle)]
        rle['counts'] = rle['counts'].decode('ascii')
        ann = dict(category_id=cls + 1, bbox=bbox, area=area, segmentation=rle, iscrowd=0)
        if kps is not None:
            flat = []
            bx, by, bw, bh = bbox
            for kx, ky in kps:
                gx, gy = int(kx) + x0, int(ky) + y0
                x, y = gx + 0.5, gy + 0.5
                if label[gy, gx] == idx:
                    v = 2
                elif bx <= x <= bx + bw and by <= y <= by + bh:
                    v = 1
                else:
                    x, y, v = 0.0, 0.0, 0
                flat += [x, y, v]
            ann['keypoints'] = flat
            ann['num_keypoints'] = int(sum(1 for v in flat[2::3] if v > 0))
        anns.append(ann)
    return img, anns


# ----------------------------------------------------------------------------- files
def _categories() -> List[dict]:
    cats = []
    for i, name in enumerate(SYNTHETIC_CLASSES):
        cat = dict(id=i + 1, name=name, supercategory='shape')
        if name == 'figure':
            cat.update(supercategory='figure', keypoints=list(FIGURE_KEYPOINTS),
                       skeleton=[list(p) for p in FIGURE_SKELETON],
                       flip_pairs=[list(p) for p in FIGURE_FLIP_PAIRS])
        cats.append(cat)
    return cats


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def _paths(out_dir: str, params: dict) -> dict:
    return dict(data_root=out_dir,
                train_ann=osp.join(out_dir, 'annotations', 'instances_train.json'),
                val_ann=osp.join(out_dir, 'annotations', 'instances_val.json'),
                train_img=osp.join(out_dir, 'train'), val_img=osp.join(out_dir, 'val'),
                manifest=osp.join(out_dir, 'manifest.json'), classes=SYNTHETIC_CLASSES)


def _manifest_body(preset: str, seed: int, params: dict) -> dict:
    # json round trip turns tuples into lists so comparisons with a loaded manifest are exact.
    return json.loads(json.dumps(dict(generator='mmdet_scalenorm.datasets.synthetic',
                                      version=GENERATOR_VERSION, preset=preset, seed=seed,
                                      params=params)))


def _images_digest(img_dir: str, names: List[str]) -> Optional[str]:
    """sha256 over the images' own sha256s, in annotation order (None if one is missing)."""
    h = hashlib.sha256()
    for n in names:
        p = osp.join(img_dir, n)
        if not osp.isfile(p):
            return None
        h.update(_sha256(p).encode())
    return h.hexdigest()


def _cache_hit(paths: dict, body: dict) -> bool:
    try:
        with open(paths['manifest']) as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        return False
    if not isinstance(manifest, dict) or {k: manifest.get(k) for k in body} != body:
        return False
    sha = manifest.get('sha256') or {}
    for split in _SPLITS:
        ann = paths[f'{split}_ann']
        if not osp.isfile(ann) or sha.get(split) != _sha256(ann):
            return False
        with open(ann) as f:
            names = [im['file_name'] for im in json.load(f)['images']]
        if sha.get(f'{split}_images') != _images_digest(paths[f'{split}_img'], names):
            return False
    return True


def verify_synthetic_coco(data_root: str) -> Dict[str, int]:
    """Check a generated benchmark: annotation files are COCO and every image decodes.

    Raises ``FileNotFoundError`` (missing folder / file) or ``ValueError`` (annotation file that
    is not COCO, image that fails to decode or whose size differs from its record), each naming
    the file.  Returns ``{'train_images': n, 'train_instances': m, 'val_images': ...}``.
    """
    data_root = osp.abspath(os.fspath(data_root))
    if not osp.isdir(data_root):
        raise FileNotFoundError(f'synthetic dataset folder {data_root!r} does not exist')
    counts = {}
    for split in _SPLITS:
        ann = osp.join(data_root, 'annotations', f'instances_{split}.json')
        if not osp.isfile(ann):
            raise FileNotFoundError(f'annotation file {ann!r} does not exist')
        try:
            with open(ann) as f:
                coco = json.load(f)
        except (ValueError, UnicodeDecodeError) as e:
            raise ValueError(f'annotation file {ann!r} is not COCO json: {e}') from e
        if not isinstance(coco, dict) or not all(
                isinstance(coco.get(k), list) for k in ('images', 'annotations', 'categories')):
            raise ValueError(f'annotation file {ann!r} is not COCO: it needs "images", '
                             f'"annotations" and "categories" lists')
        for im in coco['images']:
            path = osp.join(data_root, split, str(im.get('file_name')))
            if not osp.isfile(path):
                raise FileNotFoundError(f'image {path!r} listed in {ann!r} does not exist')
            arr = cv2.imread(path, cv2.IMREAD_COLOR)
            if arr is None:
                raise ValueError(f'image {path!r} fails to decode')
            if arr.shape[:2] != (im.get('height'), im.get('width')):
                raise ValueError(f'image {path!r} is {arr.shape[1]}x{arr.shape[0]} but {ann!r} '
                                 f'says {im.get("width")}x{im.get("height")}')
        counts[f'{split}_images'] = len(coco['images'])
        counts[f'{split}_instances'] = len(coco['annotations'])
    return counts


def generate_synthetic_coco(out_dir: str, preset: str = 'tiny', seed: int = 0,
                            progress: bool = True, **overrides) -> dict:
    """Write the synthetic benchmark to ``out_dir`` (or reuse it) and return its paths.

    Args:
        out_dir: output folder (created).
        preset: ``'tiny'`` (tests: 6 train + 4 val images, sides 128-320, objects 6-200 px)
            or ``'demo'`` (``make demo``: 400 + 80 images, sides 256-640, objects 6-400 px)
            or ``'large'`` (400 + 80 images, sides 320-960, objects 6-600 px).
        seed: the seed every image's generator derives from.
        progress: show a progress bar over images.
        **overrides: any of ``num_train, num_val, img_size_range, obj_size_range, min_objects,
            max_objects, min_visible, min_area, placement_tries, img_format ('jpg'|'png'),
            jpg_quality, clutter``; unknown keys or bad values raise ``ValueError`` naming the key.

    Returns:
        dict(data_root, train_ann, val_ann, train_img, val_img, manifest, classes, cached)
        with absolute paths; ``cached`` is True when nothing was written.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f'seed must be a non-negative int; got {seed!r}')
    seed = int(seed)
    params = resolve_params(preset, **overrides)
    out_dir = osp.abspath(os.fspath(out_dir))
    paths = _paths(out_dir, params)
    body = _manifest_body(preset, seed, params)
    if _cache_hit(paths, body):
        return dict(paths, cached=True)
    try:
        for d in ('annotations', 'train', 'val'):
            os.makedirs(osp.join(out_dir, d), exist_ok=True)
    except OSError as e:
        raise OSError(f'cannot create the synthetic dataset folders under {out_dir!r}: {e}') \
            from e
    if not os.access(out_dir, os.W_OK):
        raise PermissionError(f'synthetic dataset folder {out_dir!r} is not writable')
    if osp.exists(paths['manifest']):
        os.remove(paths['manifest'])  # stale: invalidate before rewriting anything

    total = params['num_train'] + params['num_val']
    bar = None
    if progress:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(total)
    ext = params['img_format']
    enc = [int(cv2.IMWRITE_JPEG_QUALITY), params['jpg_quality']] if ext == 'jpg' else \
        [int(cv2.IMWRITE_PNG_COMPRESSION), 3]
    sha = {}
    for split_id, split in enumerate(_SPLITS):
        images, annotations, digests = [], [], []
        for i in range(params[f'num_{split}']):
            rng = np.random.default_rng([seed, split_id, i])
            img, anns = _render_image(rng, params)
            name = f'{i:06d}.{ext}'
            ok, buf = cv2.imencode(f'.{ext}', cv2.cvtColor(img, cv2.COLOR_RGB2BGR), enc)
            if not ok:
                raise RuntimeError(f'cv2 failed to encode {name}')
            data = buf.tobytes()
            with open(osp.join(paths[f'{split}_img'], name), 'wb') as f:
                f.write(data)
            digests.append(hashlib.sha256(data).hexdigest())
            image_id = i + 1
            images.append(dict(id=image_id, file_name=name, height=img.shape[0],
                               width=img.shape[1]))
            for ann in anns:
                annotations.append(dict(id=len(annotations) + 1, image_id=image_id, **ann))
            if bar is not None:
                bar.update()
        coco = dict(info=dict(description=f'mmdet-scalenorm synthetic {preset} {split}',
                              version=str(GENERATOR_VERSION), seed=seed),
                    licenses=[], images=images, annotations=annotations,
                    categories=_categories())
        ann_path = paths[f'{split}_ann']
        tmp = ann_path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(coco, f, separators=(',', ':'))
        os.replace(tmp, ann_path)
        sha[split] = _sha256(ann_path)
        sha[f'{split}_images'] = hashlib.sha256(''.join(digests).encode()).hexdigest()
    if bar is not None:
        print()
    tmp = paths['manifest'] + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(dict(body, sha256=sha), f, indent=1)
    os.replace(tmp, paths['manifest'])
    return dict(paths, cached=False)
