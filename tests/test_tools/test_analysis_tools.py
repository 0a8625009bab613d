"""tools/analysis_tools/scale_distribution.py and browse_chips.py on the repo's ISN
config pointed at the synthetic_tiny data: both run from the repo root and write real PNGs."""
import glob
import importlib.util
import math
import os
import os.path as osp
import subprocess
import sys

import matplotlib.image as mpimg
import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ISN_CONFIG = osp.join(REPO, 'configs', 'isn', 'isn-faster-rcnn_r50_fpn_18e_coco.py')
TOOLS = osp.join(REPO, 'tools', 'analysis_tools')


def write_isn_tiny_config(path, data, extra=''):
    """A config that inherits the repo ISN config (ChipDataset around a COCO dataset) and reads
    the synthetic_tiny training set."""
    root = data['data_root'].rstrip('/') + '/'
    text = f'''
_base_ = [{ISN_CONFIG!r}]
train_dataloader = dict(dataset=dict(dataset=dict(
    data_root={root!r}, ann_file='annotations/instances_train.json',
    data_prefix=dict(img='train/'),
    metainfo=dict(classes={tuple(data['classes'])!r}))))
{extra}
'''
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


def run_tool(name, *args):
    env = dict(os.environ, PYTHONWARNINGS='ignore', OMP_NUM_THREADS='1', MPLBACKEND='Agg')
    p = subprocess.run([sys.executable, osp.join('tools', 'analysis_tools', name), *map(str, args)],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout + p.stderr


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name[:-3], osp.join(TOOLS, name))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def check_png(path, min_h, min_w):
    assert osp.getsize(path) > 10_000
    img = mpimg.imread(path)
    h, w = img.shape[:2]
    assert h >= min_h and w >= min_w, (h, w)
    assert h <= 6000 and w <= 6000, (h, w)
    assert img[..., :3].std() > 0.01  # not a blank canvas
    return img


@pytest.mark.slow
def test_scale_distribution_cli(synthetic_tiny, tmp_path):
    cfg = write_isn_tiny_config(tmp_path / 'isn_tiny.py', synthetic_tiny)
    out = tmp_path / 'plots' / 'scales.png'
    rc, log = run_tool('scale_distribution.py', cfg, '--out', out, '--max-images', 5)
    assert rc == 0, log[-4000:]
    # 5 pyramid panels + the "all scales" panel, 2.2 inch each at 100 dpi
    check_png(out, min_h=6 * 200, min_w=800)
    rows = [line for line in log.splitlines() if line.startswith('| x')]
    assert [r.split('|')[1].strip() for r in rows] == ['x4', 'x2', 'x1', 'x0.5', 'x0.25']
    assert all(r.split('|')[4].strip() == '5' for r in rows)  # 5 images per scale
    assert '[16, 560]' in rows[0]


@pytest.mark.slow
def test_browse_chips_cli(synthetic_tiny, tmp_path):
    cfg = write_isn_tiny_config(tmp_path / 'isn_tiny.py', synthetic_tiny)
    out_dir = tmp_path / 'chips'
    rc, log = run_tool('browse_chips.py', cfg, '--out-dir', out_dir, '--num-images', 2)
    assert rc == 0, log[-4000:]
    files = sorted(glob.glob(str(out_dir / '*.png')))
    assert [osp.basename(f) for f in files] == ['000000_000000.png', '000001_000001.png']
    for f in files:
        check_png(f, min_h=2 * 400, min_w=3 * 400)  # 5 scales: a 2 x 3 grid of 4.5 inch panels
    assert 'wrote 2 image(s)' in log


def test_browse_chips_one_scale_in_process(synthetic_tiny, tmp_path):
    tool = load_tool('browse_chips.py')
    cfg = write_isn_tiny_config(tmp_path / 'isn_tiny.py', synthetic_tiny)
    out_dir = tmp_path / 'one'
    assert tool.main([cfg, '--out-dir', str(out_dir), '--num-images', '1',
                      '--scale-index', '1', '--shuffle', '--seed', '3']) == 0
    (f,) = glob.glob(str(out_dir / '*.png'))
    img = check_png(f, min_h=400, min_w=400)
    assert img.shape[1] < 700  # a single panel
    with pytest.raises(SystemExit, match='out of range'):
        tool.main([cfg, '--out-dir', str(out_dir), '--scale-index', '5'])
    with pytest.raises(SystemExit, match='int'):
        tool.main([cfg, '--out-dir', str(out_dir), '--scale-index', 'big'])


def test_tools_reject_unsupported_pipeline(synthetic_tiny, tmp_path):
    extra = '''
train_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
                  dict(type='PackDetInputs')]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
'''
    cfg = write_isn_tiny_config(tmp_path / 'bad.py', synthetic_tiny, extra)
    for name, args in (('scale_distribution.py', ['--out', str(tmp_path / 'x.png')]),
                       ('browse_chips.py', ['--out-dir', str(tmp_path / 'x')])):
        with pytest.raises(SystemExit, match='no resize step'):
            load_tool(name).main([cfg, *args])
    with pytest.raises(SystemExit, match='not found'):
        load_tool('scale_distribution.py').main([str(tmp_path / 'missing.py')])


def test_scale_distribution_panels_in_process(synthetic_tiny, tmp_path):
    """The plotting helper on hand-built statistics: log-spaced shared bins, one panel per scale."""
    tool = load_tool('scale_distribution.py')
    from mmdet_scalenorm.analysis import PyramidView, ViewScaleStats
    stats = [ViewScaleStats(view=PyramidView(resize=dict(type='Resize', scale_factor=f)),
                            scales=np.array([0.0, 3.0, 20.0, 700.0]) * f,
                            valid=np.array([False, False, True, False]),
                            crowd=np.array([False, True, False, False]),
                            image_index=np.zeros(4, np.int64),
                            ranges=np.array([[16.0, 560.0]]), num_images=1) for f in (1.0, 2.0)]
    # SNIP-like: original-pixel ranges differ per image in resized pixels -> medians
    stats[1].ranges = np.array([[16.0, 560.0], [32.0, 1120.0], [20.0, math.inf]])
    assert tool.view_range_summary(stats[0]) == (16.0, 560.0, True)
    assert tool.view_range_summary(stats[1]) == (20.0, 1120.0, False)
    edges = tool.log_bins(stats, 10)
    assert edges[0] == 2.0 and edges[-1] == 2048.0
    np.testing.assert_allclose(np.diff(np.log(edges)), np.log(1024) / 10)
    out = tmp_path / 'hand.png'
    tool.plot(stats, str(out), bins=10)
    check_png(out, min_h=3 * 200, min_w=800)


def test_browse_chips_negative_chips_from_proposals(synthetic_tiny, tmp_path):
    """With SampleChip's proposals_file the negative-chip pool is drawn: every negative chip holds a
    proposal (valid at that scale) that no positive chip contains; positives cover the valid GT."""
    import json
    from mmengine.config import Config
    from mmdet_scalenorm.analysis import iter_pyramid, pyramid_views_from_config
    from mmdet_scalenorm.scale import box_scale, in_range
    tool = load_tool('browse_chips.py')
    coco = json.load(open(synthetic_tiny['train_ann']))
    im = coco['images'][0]
    props = [[0, 0, 30, 30], [im['width'] - 40, im['height'] - 40, im['width'] - 10,
                              im['height'] - 10], [5, 5, 6, 6]]
    (tmp_path / 'props.json').write_text(json.dumps({im['file_name']: props}))
    cfg = Config.fromfile(write_isn_tiny_config(tmp_path / 'isn_tiny.py', synthetic_tiny))
    pipe = cfg.train_dataloader.dataset.pipeline
    assert pipe[4]['type'] == 'SampleChip'
    pipe[4] = dict(type='SampleChip', chip_size=64, stride=16,
                   proposals_file=str(tmp_path / 'props.json'))
    cfg_file = str(tmp_path / 'neg.py')
    cfg.dump(cfg_file)
    cfg = Config.fromfile(cfg_file)
    spec = pyramid_views_from_config(cfg)
    assert spec.sample_chip['proposals_file'].endswith('props.json')
    sampler = tool.build_chip_sampler(spec, 512, 32)
    assert (sampler.chip_size, sampler.stride) == (64, 16)
    (s,) = iter_pyramid(cfg, indices=[0], view_indices=[2], spec=spec)  # x1
    pos, neg = tool.chips_for_sample(s, sampler)
    boxes = tool._boxes(s.results)
    inside = lambda b, c: (c[:, 0] <= b[0]) & (c[:, 1] <= b[1]) & (b[2] <= c[:, 2]) & \
        (b[3] <= c[:, 3])  # noqa: E731
    small = s.valid & ((boxes[:, 2:] - boxes[:, :2]).max(axis=1) <= 64 - 16)
    assert all(inside(b, pos).any() for b in boxes[small])
    p = np.array(props, float)
    p = p[in_range(box_scale(p), 16, 560)]  # x1: original = resized pixels; [5,5,6,6] is too small
    free = [b for b in p if not inside(b, pos).any()]
    assert len(free) >= 1 and len(neg) >= 1
    assert all(any(inside(b, c[None]).any() for b in free) for c in neg)
    assert tool.main([cfg_file, '--out-dir', str(tmp_path / 'neg'), '--num-images', '1',
                      '--scale-index', '2']) == 0
    assert len(glob.glob(str(tmp_path / 'neg' / '*.png'))) == 1
