"""Read a config's training image pyramid and measure object scales at every pyramid scale.

ISN §3.2 / Fig. 1 (e)-(f): the scale ``sqrt(w*h)`` of every training object *in the resized image*,
split into the objects that take part in training (valid) and those that are ignored, for each
resolution of the pyramid.  SNIP §6.1 / ISN §3.3.1 decide validity with ``MarkValidRange``; this
module replays the config's own transforms (built through mmdet's ``TRANSFORMS`` registry from the
config's dicts) so what it reports is what training sees::

    load (transforms before the resize) -> one pyramid scale's resize
        -> MarkValidRange(keep_empty=True)

Pipeline forms understood (``train_dataloader.dataset``, unwrapped through any wrapper that has a
``dataset`` key: ``ChipDataset``, ``RepeatDataset``, ``ClassBalancedDataset`` ...):

* the *resize step* is the first transform that resizes; every transform before it is a *load*
  transform and is replayed as configured.  Exactly one resize step is allowed; transforms after
  ``MarkValidRange`` (``SampleChip``, flips, packing ...) are not replayed.
* ``Resize(scale=...)`` or ``Resize(scale_factor=...)``: one pyramid scale.
* ``RandomChoiceResize(scales=[...], resize_type='Resize', **kw)``: one scale per entry of
  ``scales``.
* ``RandomResize(scale=[s_a, s_b])`` or ``RandomResize(scale=s, ratio_range=(r_lo, r_hi))``: a
  continuous range, represented by its two ends (the smallest and the largest sampled scale, with
  mmcv's rounding).
* ``RandomChoice(transforms=[option, ...])``: one scale per option; an option is a ``Resize`` dict,
  or a list holding one ``Resize`` optionally followed by its own ``MarkValidRange`` (SNIP §7.1: one
  original-pixel range per scale).
* ``ResizeToChipScale`` (fed by ``ChipDataset``): one scale per factor of the ``ChipDataset``
  wrapper (its ``scale_factors``, or ChipDataset's default), replayed as
  ``Resize(scale_factor=f, keep_ratio=False)``, which produces the same image size and boxes (see
  ``resize_to_chip_scale.py``).  ``ChipDataset``'s own pipeline is the training pipeline.
* ``MarkValidRange`` after the resize step (one for every scale), or inside each ``RandomChoice``
  option, or absent (every non-crowd object is valid, range ``[0, inf]``).  Not both.
* ``SampleChip`` after the resize step: its settings are returned for the chip browser.

Anything else (no resize step, two resize steps, an unknown ``*Resize`` transform, a
``RandomChoice`` option with other transforms, a ``ConcatDataset``, a wrapper other than
``ChipDataset`` with its own pipeline) raises ``ValueError`` naming what was found.
"""
from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass, field
from typing import Iterator, List, Optional, Sequence

import numpy as np

from ..scale import box_scale

__all__ = [
    'PyramidView', 'PyramidSpec', 'PyramidSample', 'ViewScaleStats', 'train_dataset_cfg',
    'pyramid_views_from_config', 'iter_pyramid', 'collect_scale_stats', 'view_range_summary',
    'format_scale_table', 'prepare_scope', 'build_train_dataset', 'UNDERSTOOD_FORMS'
]

UNDERSTOOD_FORMS = ('Resize', 'RandomChoiceResize', 'RandomResize', 'RandomChoice',
                    'ResizeToChipScale')
_RESIZE_FORMS = set(UNDERSTOOD_FORMS)


def _type_name(t) -> str:
    """Registry type name without scope (``'mmdet.Resize'`` -> ``'Resize'``; classes by name)."""
    if isinstance(t, type):
        return t.__name__
    return str(t).split('.')[-1]


def _step_type(step) -> str:
    if not isinstance(step, dict) or 'type' not in step:
        raise ValueError(f'pipeline steps must be dicts with a "type"; got {step!r}')
    return _type_name(step['type'])


def _plain(d) -> dict:
    """A deep plain-dict copy of a config dict (ConfigDict -> dict)."""
    if hasattr(d, 'to_dict'):
        return copy.deepcopy(d.to_dict())
    return copy.deepcopy(dict(d))


def _fmt_num(v) -> str:
    v = float(v)
    return f'{v:g}'


def _view_label(resize: dict) -> str:
    if resize.get('scale', None) is not None:
        s = resize['scale']
        if isinstance(s, (int, float)):
            return f'{_fmt_num(s)}x{_fmt_num(s)}'
        return 'x'.join(_fmt_num(v) for v in s)
    return f"x{_fmt_num(resize.get('scale_factor', 1.0))}"


@dataclass
class PyramidView:
    """One pyramid scale: the resize to replay and the valid-range marking after it."""
    resize: dict
    mark_valid_range: Optional[dict] = None
    label: str = ''

    def __post_init__(self):
        if not self.label:
            self.label = _view_label(self.resize)


@dataclass
class PyramidSpec:
    """What :func:`pyramid_views_from_config` read from a config."""
    dataset: dict                       # the dataset that reads the annotations (unwrapped)
    load: List[dict]                    # transforms before the resize step
    views: List[PyramidView]            # one per pyramid scale
    form: str                           # the resize step's type (one of UNDERSTOOD_FORMS)
    sample_chip: Optional[dict] = None  # SampleChip settings, when the pipeline has one
    wrappers: List[str] = field(default_factory=list)  # dataset wrapper types, outermost first

    @property
    def scales(self) -> List[dict]:
        """The pyramid scales as Resize dicts (``scale_factor`` or ``scale``)."""
        return [v.resize for v in self.views]

    @property
    def mark_valid_range(self) -> Optional[dict]:
        """The MarkValidRange settings shared by every scale (None when absent or per scale)."""
        marks = [v.mark_valid_range for v in self.views]
        return marks[0] if all(m == marks[0] for m in marks) else None


def train_dataset_cfg(cfg):
    """``cfg.train_dataloader.dataset`` unwrapped: ``(data dataset, pipeline, wrapper dicts)``.

    Wrappers (any dataset dict with a ``dataset`` key) are walked down to the dataset that reads the
    annotations.  The training pipeline is that dataset's, except under ``ChipDataset``, which runs
    its own pipeline on the inner dataset's data infos (the inner pipeline is then unused).
    """
    if 'train_dataloader' not in cfg or 'dataset' not in cfg['train_dataloader']:
        raise ValueError('config has no train_dataloader.dataset: cannot read the training '
                         'pipeline')
    ds = cfg['train_dataloader']['dataset']
    wrappers, pipeline = [], None
    while True:
        name = _type_name(ds.get('type'))
        if 'datasets' in ds and 'dataset' not in ds:
            raise ValueError(f'{name}: a dataset with several sub-datasets (ConcatDataset) is not '
                             'understood; point train_dataloader.dataset at one dataset')
        if 'dataset' not in ds:
            if pipeline is None:
                pipeline = ds.get('pipeline', None)
            return ds, list(pipeline or []), wrappers
        if ds.get('pipeline', None):
            if name != 'ChipDataset' or pipeline is not None:
                raise ValueError(f'{name}: a dataset wrapper with its own pipeline (e.g. '
                                 'MultiImageMixDataset) is not understood; ChipDataset is')
            pipeline = ds['pipeline']
        wrappers.append(ds)
        ds = ds['dataset']


def _resize_views(step: dict, form: str, wrappers: Sequence[dict]) -> List[dict]:
    """The Resize dicts of the pyramid scales of one resize step."""
    if form == 'Resize':
        if step.get('scale', None) is None and step.get('scale_factor', None) is None:
            raise ValueError(f'Resize needs scale or scale_factor; got {step!r}')
        return [_plain(step)]
    if form == 'RandomChoiceResize':
        kw = {k: v for k, v in _plain(step).items() if k not in ('type', 'scales', 'resize_type')}
        rtype = step.get('resize_type', 'Resize')
        scales = step['scales']
        scales = list(scales) if isinstance(scales, list) else [scales]  # mmcv's rule
        return [dict(type=rtype, scale=tuple(s) if isinstance(s, (list, tuple)) else s, **kw)
                for s in scales]
    if form == 'RandomResize':
        kw = {k: v for k, v in _plain(step).items()
              if k not in ('type', 'scale', 'ratio_range', 'resize_type')}
        rtype = step.get('resize_type', 'Resize')
        scale = step['scale']
        ratio = step.get('ratio_range', None)
        if ratio is not None:
            if len(scale) != 2 or not all(isinstance(v, (int, float)) for v in scale):
                raise ValueError(f'RandomResize with ratio_range needs scale=(w, h); got {scale!r}')
            lo, hi = min(ratio), max(ratio)
            ends = [(int(scale[0] * r), int(scale[1] * r)) for r in (lo, hi)]
        else:
            if len(scale) != 2 or not all(isinstance(s, (list, tuple)) and len(s) == 2
                                          for s in scale):
                raise ValueError('RandomResize without ratio_range needs '
                                 f'scale=[(w0, h0), (w1, h1)]; got {scale!r}')
            ends = [(min(scale[0][0], scale[1][0]), min(scale[0][1], scale[1][1])),
                    (max(scale[0][0], scale[1][0]), max(scale[0][1], scale[1][1]))]
        if ends[0] == ends[1]:
            ends = ends[:1]
        return [dict(type=rtype, scale=e, **kw) for e in ends]
    if form == 'ResizeToChipScale':
        chip_ds = [w for w in wrappers if _type_name(w.get('type')) == 'ChipDataset']
        if not chip_ds:
            raise ValueError('ResizeToChipScale takes its factor from ChipDataset, but the '
                             'training dataset is not wrapped in a ChipDataset')
        factors = chip_ds[0].get('scale_factors', None)
        if factors is None:  # ChipDataset's own default
            import inspect
            from mmdet.registry import DATASETS
            factors = inspect.signature(
                DATASETS.get('ChipDataset').__init__).parameters['scale_factors'].default
        factors = [factors] if isinstance(factors, (int, float)) else list(factors)
        return [dict(type='Resize', scale_factor=float(f), keep_ratio=False) for f in factors]
    raise AssertionError(form)


def _choice_resizes(step: dict) -> bool:
    """Whether a RandomChoice step has a resize in any option (then it is the resize step)."""
    for opt in step.get('transforms', None) or []:
        opt = [opt] if isinstance(opt, dict) else list(opt)
        if any('Resize' in _step_type(t) for t in opt):
            return True
    return False


def _parse_random_choice(step: dict):
    """(Resize dicts, per-option MarkValidRange dicts or None) of a RandomChoice step."""
    options = step.get('transforms', None)
    if not options:
        raise ValueError(f'RandomChoice without transforms: {step!r}')
    resizes, marks = [], []
    for i, opt in enumerate(options):
        opt = [opt] if isinstance(opt, dict) else list(opt)
        types = [_step_type(t) for t in opt]
        if types and types[0] == 'Resize' and types[1:] in ([], ['MarkValidRange']):
            resizes.extend(_resize_views(opt[0], 'Resize', []))
            marks.append(_plain(opt[1]) if len(opt) == 2 else None)
            continue
        raise ValueError(f'RandomChoice option {i} is {types}; understood options are [Resize] and '
                         '[Resize, MarkValidRange]')
    has = [m is not None for m in marks]
    if any(has) and not all(has):
        raise ValueError('RandomChoice: either every option has its own MarkValidRange or none '
                         f'has; got {has}')
    return resizes, marks


def pyramid_views_from_config(cfg) -> PyramidSpec:
    """Read the training pyramid of ``cfg`` (an mmengine ``Config`` or a dict).

    Returns a :class:`PyramidSpec`: the load transforms, one :class:`PyramidView` per pyramid scale
    (a Resize dict with ``scale_factor`` or ``scale``, and the MarkValidRange dict that follows it
    or None) and the SampleChip settings (or None).  Raises ``ValueError`` for pipeline forms not
    listed in the module docstring.
    """
    ds, pipeline, wrappers = train_dataset_cfg(cfg)
    if not pipeline:
        raise ValueError('the training dataset has no pipeline')
    types = [_step_type(s) for s in pipeline]

    def is_resize(i):
        if types[i] == 'RandomChoice':
            return _choice_resizes(pipeline[i])
        return types[i] in _RESIZE_FORMS

    resize_idx = [i for i in range(len(types)) if is_resize(i)]
    unknown = [t for t in types if 'Resize' in t and t not in _RESIZE_FORMS]
    if unknown:
        raise ValueError(f'resize transform(s) {unknown} not understood; the pyramid must be made '
                         f'with one of {UNDERSTOOD_FORMS} (pipeline: {types})')
    if not resize_idx:
        raise ValueError(f'no resize step found in the training pipeline {types}; understood '
                         f'forms: {UNDERSTOOD_FORMS}')
    if len(resize_idx) > 1:
        raise ValueError(f'{len(resize_idx)} resize steps in the training pipeline {types}; '
                         'exactly one is understood')
    r = resize_idx[0]
    form = types[r]
    step = pipeline[r]
    if form == 'RandomChoice':
        resizes, marks = _parse_random_choice(step)
    else:
        resizes = _resize_views(step, form, wrappers)
        marks = [None] * len(resizes)

    after = types[r + 1:]
    top_marks = [pipeline[r + 1 + i] for i, t in enumerate(after) if t == 'MarkValidRange']
    if len(top_marks) > 1:
        raise ValueError(f'{len(top_marks)} MarkValidRange steps after the resize; one is '
                         'understood')
    if top_marks:
        if any(m is not None for m in marks):
            raise ValueError('MarkValidRange both inside the RandomChoice options and after them: '
                             'not understood (use one or the other)')
        marks = [_plain(top_marks[0])] * len(resizes)
    chips = [pipeline[r + 1 + i] for i, t in enumerate(after) if t == 'SampleChip']
    views = [PyramidView(resize=rz, mark_valid_range=copy.deepcopy(mk))
             for rz, mk in zip(resizes, marks)]
    return PyramidSpec(dataset=_plain(ds), load=[_plain(s) for s in pipeline[:r]], views=views,
                       form=form, sample_chip=_plain(chips[0]) if chips else None,
                       wrappers=[_type_name(w.get('type')) for w in wrappers])


# --------------------------------------------------------------------------- replaying the pipeline
@dataclass
class PyramidSample:
    """One (image, pyramid scale) pair after load -> resize -> MarkValidRange(keep_empty=True)."""
    index: int              # dataset index
    view_index: int
    results: dict           # the transformed results (img, gt_bboxes, gt_ignore_flags, ...)
    crowd: np.ndarray       # (N,) bool: ignored already after loading (crowd)
    valid: np.ndarray       # (N,) bool: taking part in training at this scale
    valid_range: tuple      # (lo, hi) in pixels of the resized image


def _boxes_numpy(boxes) -> np.ndarray:
    if boxes is None:
        return np.zeros((0, 4), dtype=np.float32)
    if hasattr(boxes, 'tensor'):
        boxes = boxes.tensor
    if hasattr(boxes, 'detach'):
        boxes = boxes.detach().cpu().numpy()
    return np.asarray(boxes, dtype=np.float32).reshape(-1, 4)


def build_train_dataset(spec: PyramidSpec):
    """The training dataset of ``spec`` (wrappers removed) with an empty pipeline."""
    from mmdet.registry import DATASETS
    ds_cfg = copy.deepcopy(spec.dataset)
    ds_cfg['pipeline'] = []
    return DATASETS.build(ds_cfg)


def load_config(path: str, cfg_options: Optional[dict] = None):
    """``Config.fromfile(path)`` merged with ``--cfg-options``; a missing file is a SystemExit
    naming it (the analysis CLIs' shared entry)."""
    import os.path as osp
    from mmengine.config import Config
    if not osp.isfile(path):
        raise SystemExit(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def prepare_scope(cfg) -> None:
    """Register mmdet_scalenorm and set the config's default registry scope (mmdet)."""
    import mmdet_scalenorm  # noqa: F401  (registers our transforms)
    from mmengine.registry import init_default_scope
    scope = cfg.get('default_scope', 'mmdet') if hasattr(cfg, 'get') else 'mmdet'
    init_default_scope(scope or 'mmdet')


def _is_image_loader(step: dict) -> bool:
    return _step_type(step).startswith('LoadImage')


def iter_pyramid(cfg, indices: Optional[Sequence[int]] = None, load_images: bool = True,
                 with_masks: bool = True, view_indices: Optional[Sequence[int]] = None,
                 spec: Optional[PyramidSpec] = None, dataset=None,
                 skipped: Optional[list] = None,
                 progress: bool = False) -> Iterator[PyramidSample]:
    """Replay load -> resize -> MarkValidRange(keep_empty=True) on images ``indices`` (None: all).

    ``load_images=False`` does not decode images: when the dataset gives the image ``height`` and
    ``width`` (COCO does) a blank single-channel image of that size stands in for the decoded one,
    which gives the same resized size, scale factor and boxes; images without a size are decoded.
    ``with_masks=False`` drops mask/segmentation loading (box scales do not depend on them).
    Images whose loading fails (missing or corrupt file) are skipped with a warning naming the file
    and appended to ``skipped`` (a list of ``(index, path, error)``) when given.
    """
    from mmdet.registry import TRANSFORMS
    prepare_scope(cfg)
    spec = spec or pyramid_views_from_config(cfg)
    dataset = dataset if dataset is not None else build_train_dataset(spec)
    load_cfgs = []
    for s in spec.load:
        s = copy.deepcopy(s)
        if not with_masks and _step_type(s) == 'LoadAnnotations':
            s['with_mask'] = False
            s['with_seg'] = False
        load_cfgs.append(s)
    loaders = [(TRANSFORMS.build(s), _is_image_loader(s)) for s in load_cfgs]
    view_indices = range(len(spec.views)) if view_indices is None else list(view_indices)
    views = []
    for v in view_indices:
        view = spec.views[v]
        mark = None
        if view.mark_valid_range is not None:
            mark = TRANSFORMS.build(dict(view.mark_valid_range, keep_empty=True))
        views.append((v, TRANSFORMS.build(copy.deepcopy(view.resize)), mark))
    indices = range(len(dataset)) if indices is None else list(indices)
    bar = None
    if progress:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(indices))
    for idx in indices:
        info = dataset.get_data_info(idx)
        path = info.get('img_path', f'#{idx}')
        try:
            results = _load(info, loaders, load_images)
        except Exception as e:  # a missing/corrupt image is skipped and counted, not fatal
            warnings.warn(f'skipping image {path}: {type(e).__name__}: {e}')
            if skipped is not None:
                skipped.append((idx, path, f'{type(e).__name__}: {e}'))
            results = None
        if results is not None:
            crowd = np.asarray(results.get('gt_ignore_flags', np.zeros(0, bool)), dtype=bool)
            crowd = crowd.reshape(-1)
            for v, resize, mark in views:
                res = resize(copy.deepcopy(results))
                if mark is not None:
                    res = mark(res)
                    vr = tuple(float(x) for x in res['valid_range'])
                else:
                    vr = (0.0, math.inf)
                ignore = np.asarray(res.get('gt_ignore_flags', crowd), dtype=bool).reshape(-1)
                yield PyramidSample(index=idx, view_index=v, results=res, crowd=crowd.copy(),
                                    valid=~ignore, valid_range=vr)
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.file.write('\n')


def _load(info: dict, loaders, load_images: bool) -> Optional[dict]:
    results = info
    h, w = info.get('height', None), info.get('width', None)
    fake = not load_images and h and w
    for t, is_img in loaders:
        if is_img and fake:
            results['img'] = np.zeros((int(h), int(w)), dtype=np.uint8)
            results['img_shape'] = (int(h), int(w))
            results['ori_shape'] = (int(h), int(w))
            continue
        results = t(results)
        if results is None:
            raise ValueError(f'load transform {t!r} returned None')
    if results.get('img', None) is None:
        raise ValueError('no image after the load transforms')
    return results


# --------------------------------------------------------------------------- scale statistics
@dataclass
class ViewScaleStats:
    """Object scales at one pyramid scale (ISN Fig. 1 e/f)."""
    view: PyramidView
    scales: np.ndarray        # (K,) sqrt(w*h) in pixels of the resized image
    valid: np.ndarray         # (K,) bool, takes part in training
    crowd: np.ndarray         # (K,) bool, crowd (ignored whatever its scale)
    image_index: np.ndarray   # (K,) dataset index of each object
    ranges: np.ndarray        # (num_images, 2) valid range (resized pixels) per image
    num_images: int

    @property
    def ignored(self) -> np.ndarray:
        """Out-of-range (not crowd) objects: ignored because of their scale at this scale."""
        return ~self.valid & ~self.crowd

    def counts(self) -> dict:
        return dict(images=self.num_images, objects=int(len(self.scales)),
                    valid=int(self.valid.sum()), ignored=int(self.ignored.sum()),
                    crowd=int(self.crowd.sum()))


def collect_scale_stats(cfg, max_images: Optional[int] = None, load_images: bool = False,
                        progress: bool = True, skipped: Optional[list] = None
                        ) -> List[ViewScaleStats]:
    """For every training image (the first ``max_images``) and pyramid scale, every GT's scale.

    Returns one :class:`ViewScaleStats` per pyramid scale, in the order of
    :func:`pyramid_views_from_config`.  Validity is read from ``gt_ignore_flags`` after the config's
    own ``MarkValidRange`` (built with ``keep_empty=True``); without one every non-crowd object is
    valid.  See :func:`iter_pyramid` for ``load_images`` and ``skipped``.
    """
    if max_images is not None and (isinstance(max_images, bool) or
                                   not isinstance(max_images, int) or max_images < 1):
        raise ValueError(f'max_images must be None or an int >= 1; got {max_images!r}')
    prepare_scope(cfg)
    spec = pyramid_views_from_config(cfg)
    dataset = build_train_dataset(spec)
    n = len(dataset) if max_images is None else min(max_images, len(dataset))
    acc = [dict(scales=[], valid=[], crowd=[], image_index=[], ranges=[]) for _ in spec.views]
    for s in iter_pyramid(cfg, indices=range(n), load_images=load_images, with_masks=False,
                          spec=spec, dataset=dataset, skipped=skipped, progress=progress):
        a = acc[s.view_index]
        boxes = _boxes_numpy(s.results.get('gt_bboxes', None))
        a['scales'].append(box_scale(boxes).astype(np.float64))
        a['valid'].append(s.valid)
        a['crowd'].append(s.crowd)
        a['image_index'].append(np.full(len(boxes), s.index, dtype=np.int64))
        a['ranges'].append(s.valid_range)
    out = []
    for view, a in zip(spec.views, acc):
        def cat(key, dtype):
            return np.concatenate(a[key]).astype(dtype) if a[key] else np.zeros(0, dtype)
        out.append(ViewScaleStats(
            view=view, scales=cat('scales', np.float64), valid=cat('valid', bool),
            crowd=cat('crowd', bool), image_index=cat('image_index', np.int64),
            ranges=np.asarray(a['ranges'], dtype=np.float64).reshape(-1, 2),
            num_images=len(a['ranges'])))
    return out


def view_range_summary(stats: ViewScaleStats):
    """``(lo, hi, constant)``: the valid range of a pyramid scale in resized pixels.

    ISN (``reference='resized'``) has one range for every image, ``constant=True``; SNIP's
    original-pixel ranges become image-dependent in resized pixels, summarised by their medians.
    """
    if len(stats.ranges) == 0:
        return 0.0, math.inf, True
    lo, hi = stats.ranges[:, 0], stats.ranges[:, 1]
    constant = bool(np.all(lo == lo[0]) and np.all(hi == hi[0]))
    return float(np.median(lo)), float(np.median(hi)), constant


def format_scale_table(stats: Sequence[ViewScaleStats]) -> str:
    """A markdown table of object counts per pyramid scale (valid / ignored / crowd)."""
    head = ('| scale | resize | valid range (resized px) | images | objects | valid | ignored | '
            'crowd | valid % |')
    rows = [head, '|' + '---|' * 9]
    tot = dict(images=0, objects=0, valid=0, ignored=0, crowd=0)
    for s in stats:
        c = s.counts()
        for k in tot:
            tot[k] += c[k]
        lo, hi, const = view_range_summary(s)
        rng = f'[{lo:g}, {hi:g}]' + ('' if const else ' (median)')
        resize = ', '.join(f'{k}={v}' for k, v in s.view.resize.items() if k != 'type')
        pct = 100.0 * c['valid'] / c['objects'] if c['objects'] else 0.0
        rows.append(f"| {s.view.label} | {resize} | {rng} | {c['images']} | {c['objects']} | "
                    f"{c['valid']} | {c['ignored']} | {c['crowd']} | {pct:.1f} |")
    pct = 100.0 * tot['valid'] / tot['objects'] if tot['objects'] else 0.0
    rows.append(f"| all | | | {tot['images']} | {tot['objects']} | {tot['valid']} | "
                f"{tot['ignored']} | {tot['crowd']} | {pct:.1f} |")
    return '\n'.join(rows)
