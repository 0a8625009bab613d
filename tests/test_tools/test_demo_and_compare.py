"""Shortened end-to-end runs of `make demo` (tools/demo.py --quick) and of the method
comparison: every artefact the README promises is written and holds real values."""
import glob
import json
import os
import subprocess
import sys

import cv2
import pytest

from tests._tiny_config import REPO

pytestmark = pytest.mark.slow


def _run(cmd):
    env = dict(os.environ, PYTHONWARNINGS='ignore', OMP_NUM_THREADS='1')
    p = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-6000:]
    return out


def test_demo_quick_end_to_end(tmp_path):
    work, data = tmp_path / 'demo', tmp_path / 'data'
    out = _run([sys.executable, 'tools/demo.py', '--quick', '--work-dir', str(work),
                '--data-root', str(data)])
    assert (work / 'iter_2.pth').is_file()
    logs = glob.glob(str(work / '*' / '*.log'))
    assert logs, 'no training log'
    # the demo's ISN fine-tunes the shipped pretrained backbone (mmengine logs the file it loads)
    assert any('load model from: ' + os.path.join(
        REPO, 'checkpoints', 'pretrain', 'r18-tiny_synthetic-cls_20261206-35fd2053.pth')
        in open(f).read() for f in logs), 'the pretrained backbone was not loaded'
    metrics = json.loads((work / 'metrics.json').read_text())['results']
    assert set(metrics) == {'single-scale', 'multi-scale ISN (TTA)'}
    for m in metrics.values():
        assert 0 <= m['coco/bbox_mAP'] <= 1
        assert 'coco/bbox_mAP_16-560' in m and 'coco/bbox_mAR_16-560' in m
    table = (work / 'results.md').read_text()
    assert '| evaluation | AP | AP50 | AP75 | APs | APm | APl | AP[16,560] | AR[16,560] |' in table
    assert table in out.replace('\r', '') or table.strip().splitlines()[-1] in out
    vis = sorted(glob.glob(str(work / 'vis' / '*.jpg')))
    assert len(vis) == 2 and all(cv2.imread(v).size > 0 for v in vis)
    plot = cv2.imread(str(work / 'scale_distribution.png'))
    assert plot is not None and plot.shape[0] > 200 and plot.std() > 0
    assert len(glob.glob(str(work / 'chips' / '*.png'))) == 2


def test_demo_keypoint_config_draws_keypoints_and_prints_the_keypoint_table(
        tmp_path, synthetic_tiny, monkeypatch):
    """tools/demo.py --config <keypoint config>, its two keypoint parts without the training: the
    results table gains a keypoint (OKS) table after the box table, and the drawn validation
    images get the figures' keypoints through draw_keypoints (its pixels are tested in
    tests/test_apis/test_keypoint_vis.py) with the dataset's skeleton, for the figure class."""
    import torch
    import mmdet_scalenorm.apis as apis
    from mmdet.apis import init_detector
    from mmdet.utils import register_all_modules
    from mmdet_scalenorm.datasets.coco_keypoint import SYNTHETIC_KEYPOINT_METAINFO
    from mmdet_scalenorm.utils import allow_full_checkpoint_load
    from tests._tiny_config import load_script
    demo = load_script('tools/demo.py')
    m = {'coco/bbox_mAP': 0.5, 'coco/bbox_mAP_s': 0.25, 'coco/keypoints_mAP': 0.375,
         'coco/keypoints_mAP_50': 0.75, 'coco/keypoints_mAP_m': -1.0,
         'coco/keypoints_mAP_16-560': 0.125, 'coco/keypoints_mAR_16-560': 0.625}
    md = demo.results_markdown({'single-scale': m})
    box, kps = md.split('boxes (bbox):')[1].split('keypoints (OKS AP')
    assert '| single-scale | 50.0 | n/a | n/a | 25.0 |' in box
    assert '| evaluation | AP | AP50 | AP75 | APm | APl | AP[16,560] | AR[16,560] |' in kps
    assert '| single-scale | 37.5 | 75.0 | n/a | n/a | n/a | 12.5 | 62.5 |' in kps
    assert demo.results_markdown({'x': {'coco/bbox_mAP': 0.5}}).startswith('| evaluation |')

    register_all_modules()
    allow_full_checkpoint_load()
    config = os.path.join(REPO, 'configs', 'synthetic',
                          'isn-keypoint-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py')
    torch.manual_seed(0)
    ckpt = str(tmp_path / 'init.pth')
    torch.save(dict(state_dict=init_detector(config, None, device='cpu').state_dict(), meta={}),
               ckpt)
    calls = []
    real = apis.draw_keypoints
    monkeypatch.setattr(apis, 'draw_keypoints',
                        lambda vis, inst, *a, **k: calls.append((inst, a, k)) or
                        real(vis, inst, *a, **k))
    args = demo.parse_args(['--config', config, '--data-root', synthetic_tiny['data_root'],
                            '--num-vis', '1'])
    demo.draw_detections(args, ckpt, synthetic_tiny['val_img'], str(tmp_path / 'vis'),
                         score_thr=0.0)
    (out, ) = glob.glob(str(tmp_path / 'vis' / '*.jpg'))
    assert cv2.imread(out).size > 0
    (inst, (skeleton, ), kw), = calls
    assert skeleton == SYNTHETIC_KEYPOINT_METAINFO['skeleton']
    assert kw == dict(labels=[4], score_thr=0.0)  # 'figure', the class with keypoints
    assert inst.keypoints.shape == (len(inst), 13, 3)


def _compare_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'compare_methods', os.path.join(REPO, 'tools', 'analysis_tools', 'compare_methods.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_compare_cells_are_mean_and_sample_std():
    cm = _compare_module()
    # 30, 32, 34 % -> mean 32.0, sample std 2.0 (not the population std 1.63)
    assert cm.cell([0.30, 0.32, 0.34]) == '32.0 ± 2.0'
    assert cm.cell([0.30]) == '30.0'
    assert cm.cell([]) == 'n/a'
    assert cm.cell([600.0, 720.0], scale=1 / 60) == '11.0 ± 1.4'
    res = [dict(method='isn', seed=s, train_seconds=60.0 * (s + 1),
                tests={cm.SINGLE: {'bbox_mAP': 0.1 * (s + 1), 'bbox_mAP_16-560': -1.0},
                       cm.MS_ISN: {'bbox_mAP': 0.2}}) for s in (0, 1, 2)]
    rows = cm.table(res, ['isn'], seeds=[0, 1]).splitlines()[2:]
    single = [c.strip() for c in rows[0].strip('|').split('|')]
    assert single[:4] == ['isn', 'pyramid chips, ISN range', cm.SINGLE, '15.0 ± 7.1']
    assert single[9] == 'n/a'  # -1: no GT in the range -> left out, none left
    assert single[-2:] == ['1.5 ± 0.7', '2']  # minutes of seeds 0 and 1 only


def test_compare_methods_writes_table(tmp_path):
    out_md = tmp_path / 'cmp.md'
    common = ['--iters', '1', '--preset', 'tiny', '--data-root', str(tmp_path / 'data'),
              '--work-dir', str(tmp_path / 'cmp'), '--num-val', '1', '--out', str(out_md)]
    tool = [sys.executable, 'tools/analysis_tools/compare_methods.py']
    out = _run(tool + ['--methods', 'baseline', 'isn', '--seeds', '0'] + common)
    assert out.count('training 1 iterations') == 2
    text = out_md.read_text()
    rows = [line for line in text.splitlines() if line.startswith('| baseline') or
            line.startswith('| isn')]
    # baseline: single-scale + the same 5-scale test without range; isn: single + multi-scale
    assert len(rows) == 4
    assert all(len(r.strip('|').split('|')) == 13 for r in rows)
    # a second seed of ISN: seed 0 comes from the cache, seed 1 is trained
    cmd = tool + ['--methods', 'isn', '--seeds', '0', '1'] + common
    out = _run(cmd)
    assert out.count('training 1 iterations') == 1
    text = out_md.read_text()
    rows = [line for line in text.splitlines() if line.startswith('| isn')]
    assert len(rows) == 2
    assert all(r.strip('|').split('|')[-1].strip() == '2' for r in rows)  # both seeds
    assert 'Command: `python tools/analysis_tools/compare_methods.py' in text
    assert 'Machine: ' in text and 'Date: ' in text
    raw = json.loads((tmp_path / 'cmp' / 'isn' / 'seed1_it1' / 'result.json').read_text())
    assert raw['seed'] == 1 and raw['train_seconds'] > 0
    assert set(raw['tests']) == {'single scale (x1)', '5 scales, ISN range, soft-NMS'}


def test_compare_methods_instance_task_box_and_mask_tables(tmp_path):
    """--task instance: the ISN Mask R-CNN config trains and is evaluated on boxes and masks
    (single and 5-scale); the markdown has a box table and a mask table with the AP[16,560]
    columns. (The instance baseline and MS configs train in tests/test_configs.)"""
    out_md = tmp_path / 'inst.md'
    _run([sys.executable, 'tools/analysis_tools/compare_methods.py', '--task', 'instance',
          '--methods', 'isn', '--iters', '1', '--seeds', '0', '--preset',
          'tiny', '--data-root', str(tmp_path / 'data'), '--work-dir', str(tmp_path / 'cmp'),
          '--num-val', '1', '--out', str(out_md)])
    text = out_md.read_text()
    assert 'Mask R-CNN R18-tiny FPN' in text
    box, mask = text.split('Box AP (bbox):')[1].split('Mask AP (segm):')
    for part in (box, mask):
        rows = [r for r in part.splitlines() if r.startswith('| isn')]
        assert len(rows) == 2 and all(len(r.strip('|').split('|')) == 13 for r in rows)
    raw = json.loads((tmp_path / 'cmp' / 'instance' / 'isn' / 'seed0_it1' /
                      'result.json').read_text())
    assert raw['task'] == 'instance'
    for test in raw['tests'].values():
        assert {'bbox_mAP', 'segm_mAP', 'bbox_mAP_16-560', 'segm_mAP_16-560'} <= set(test)


def test_compare_methods_keypoints_task_box_and_keypoint_tables(tmp_path):
    """--task keypoints: the ISN Keypoint R-CNN config trains one iteration and is evaluated on
    one image, single scale and 5 scales (the baseline's 5-scale views are checked below, and
    the baseline config trains in tests/test_configs); the markdown has a box table and a
    keypoint table (no APs column: COCO's keypoint evaluation has none) with the AP[16,560]
    columns; runs live in WORK_DIR/keypoints/."""
    cm = _compare_module()
    assert cm.parse_args(['--task', 'keypoints']).methods == ['baseline', 'isn']
    with pytest.raises(SystemExit):  # no MS keypoint config: a clear refusal, not a crash later
        cm.parse_args(['--task', 'keypoints', '--methods', 'mst'])
    assert [k for k, _ in cm.metric_keys('keypoints')] == \
        ['AP', 'AP50', 'AP75', 'APm', 'APl', 'AP[16,560]', 'AR[16,560]']
    out_md = tmp_path / 'kps.md'
    out = _run([sys.executable, 'tools/analysis_tools/compare_methods.py', '--task', 'keypoints',
                '--methods', 'isn', '--iters', '1', '--seeds', '0', '--preset', 'tiny',
                '--data-root', str(tmp_path / 'data'), '--work-dir', str(tmp_path / 'cmp'),
                '--num-val', '1', '--out', str(out_md)])
    assert out.count('training 1 iterations') == 1
    text = out_md.read_text()
    assert 'Keypoint R-CNN R18-tiny FPN' in text
    box, kps = text.split('Box AP (bbox):')[1].split('Keypoint AP (keypoints')
    for part, ncols in ((box, 13), (kps, 12)):
        rows = [r.strip('|').split('|') for r in part.splitlines()
                if r.startswith('| baseline') or r.startswith('| isn')]
        assert [(r[0].strip(), r[2].strip()) for r in rows] == [
            ('isn', cm.SINGLE), ('isn', cm.MS_ISN)]
        assert all(len(r) == ncols for r in rows)
    raw = json.loads((tmp_path / 'cmp' / 'keypoints' / 'isn' / 'seed0_it1' /
                      'result.json').read_text())
    assert raw['task'] == 'keypoints' and len(raw['tests']) == 2
    for test in raw['tests'].values():
        assert {'bbox_mAP', 'keypoints_mAP', 'keypoints_mAP_16-560',
                'keypoints_mAR_16-560'} <= set(test)


def test_compare_no_range_tta_of_the_keypoint_task_is_the_isn_views_without_range():
    """The keypoint baseline's 5-scale test: the ISN keypoint config's views (packing the
    dataset's flip_indices) with the MS recipe's range switch-off."""
    from mmengine.config import Config
    cm = _compare_module()
    isn = Config.fromfile(os.path.join(cm.SYN, cm.CONFIGS['keypoints']['isn']))
    cfg = cm.no_range_tta(Config.fromfile(os.path.join(cm.SYN, cm.CONFIGS['keypoints']
                                                       ['baseline'])), 'keypoints')
    assert cfg.tta_pipeline == isn.tta_pipeline
    assert tuple(cfg.tta_model.valid_range) == (0, 'inf')
    assert {k: v for k, v in cfg.tta_model.items() if k != 'valid_range'} == \
        {k: v for k, v in isn.tta_model.items() if k != 'valid_range'}
    # the detection task's is its MS config's, unchanged
    ms = Config.fromfile(os.path.join(cm.SYN, cm.CONFIGS['detection']['ms']))
    det = cm.no_range_tta(Config.fromfile(os.path.join(cm.SYN, cm.CONFIGS['detection']
                                                       ['baseline'])))
    assert det.tta_model == ms.tta_model and det.tta_pipeline == ms.tta_pipeline


def test_compare_report_only_trains_nothing(tmp_path, synthetic_tiny):
    """--report-only: the table from the cached result.json files; a method without one is a row
    of 'n/a' with 0 seeds, and nothing is trained."""
    cm = _compare_module()
    run = tmp_path / 'cmp' / 'isn' / 'seed0_it1000'
    run.mkdir(parents=True)
    tests = {cm.SINGLE: {'bbox_mAP': 0.25}, cm.MS_ISN: {'bbox_mAP': 0.35, 'bbox_mAP_s': 0.4}}
    (run / 'result.json').write_text(json.dumps(dict(method='isn', seed=0, iters=1000, batch=4,
                                                     train_seconds=120.0, tests=tests)))
    out = tmp_path / 'r.md'
    cm.main(['--report-only', '--methods', 'isn', 'mst', '--seeds', '0', '--work-dir',
             str(tmp_path / 'cmp'), '--data-root', synthetic_tiny['data_root'], '--preset',
             'tiny', '--out', str(out)])
    rows = {tuple(c.strip() for c in r.strip('|').split('|')[:3]): r.strip('|').split('|')
            for r in out.read_text().splitlines() if r.startswith('| isn') or
            r.startswith('| mst')}
    isn_ms = rows[('isn', 'pyramid chips, ISN range', cm.MS_ISN)]
    assert [c.strip() for c in isn_ms[3:7]] == ['35.0', 'n/a', 'n/a', '40.0']
    assert [c.strip() for c in isn_ms[-2:]] == ['2.0', '1']
    mst = rows[('mst', 'pyramid chips, all objects', cm.MS_NO_RANGE)]
    assert mst[-1].strip() == '0' and mst[3].strip() == 'n/a'
    assert not (tmp_path / 'cmp' / 'mst').exists()
    assert 'x batch 4 for every method' in out.read_text()
    # no fine-tuned row: the header names no *-pre rows
    assert 'FPN from scratch, 1000 iterations' in out.read_text()
    assert '*-pre' not in out.read_text()
    cm.main(['--report-only', '--methods', 'isn', 'isn-pre', '--seeds', '0', '--work-dir',
             str(tmp_path / 'cmp'), '--data-root', synthetic_tiny['data_root'], '--preset',
             'tiny', '--out', str(out)])
    assert 'from scratch (the *-pre rows: fine-tuned from the pretrained backbone' \
        in out.read_text()


def test_compare_iters_of_gives_each_method_its_iterations(tmp_path, synthetic_tiny):
    """--iters-of METHOD=N: the table reads each method's own cached run, shows an iters column
    and says the rows are not at equal samples; bad items are refused naming the item."""
    cm = _compare_module()
    for name, iters, secs in (('baseline', 8, 600.0), ('isn', 16, 660.0)):
        run = tmp_path / 'cmp' / name / f'seed0_it{iters}'
        run.mkdir(parents=True)
        tests = {t: {'bbox_mAP': iters / 100} for t, _ in cm.METHODS[name][3]}
        (run / 'result.json').write_text(json.dumps(dict(
            method=name, seed=0, iters=iters, batch=4, train_seconds=secs, tests=tests)))
    out = tmp_path / 'r.md'
    cm.main(['--report-only', '--methods', 'baseline', 'isn', '--seeds', '0', '--iters', '8',
             '--iters-of', 'isn=16', '--work-dir', str(tmp_path / 'cmp'), '--data-root',
             synthetic_tiny['data_root'], '--preset', 'tiny', '--out', str(out)])
    text = out.read_text()
    assert 'NOT the same number of training samples' in text
    assert text.splitlines()[2].startswith('| method | training | testing | iters | AP |')
    rows = [[c.strip() for c in r.strip('|').split('|')] for r in text.splitlines()
            if r.startswith('| baseline') or r.startswith('| isn')]
    assert [(r[0], r[3], r[4], r[-2]) for r in rows] == [
        ('baseline', '8', '8.0', '10.0'), ('baseline', '8', '8.0', '10.0'),
        ('isn', '16', '16.0', '11.0'), ('isn', '16', '16.0', '11.0')]
    assert cm.parse_iters_of(['baseline=800', 'isn=1600'], ['baseline', 'isn']) == \
        {'baseline': 800, 'isn': 1600}
    for bad in ('isn=0', 'mst=5', 'isn', 'isn=1.5'):
        with pytest.raises(ValueError, match=f'--iters-of {bad!r}'):
            cm.parse_iters_of([bad], ['baseline', 'isn'])
    with pytest.raises(SystemExit):
        cm.parse_args(['--methods', 'isn', '--iters-of', 'baseline=5'])


def test_compare_learning_curves_of_chosen_methods_from_their_trained_points(tmp_path,
                                                                             synthetic_tiny):
    """--curve-methods picks the curves; with --report-only each curve has the points that are
    trained (an equal-wall-time table's runs), every test of the method a series, blank cells
    where a method has no run, and the PNG is written."""
    cm = _compare_module()
    runs = {('baseline-pre', 8): 0.10, ('baseline-pre', 16): 0.12, ('isn-pre', 16): 0.20,
            ('isn-pre', 32): 0.25}
    for (name, iters), ap in runs.items():
        run = tmp_path / 'cmp' / name / f'seed0_it{iters}'
        run.mkdir(parents=True)
        tests = {t: {'bbox_mAP': ap + 0.01 * k} for k, (t, _) in enumerate(cm.METHODS[name][3])}
        (run / 'result.json').write_text(json.dumps(dict(
            method=name, seed=0, iters=iters, batch=4, train_seconds=60.0, tests=tests)))
    out = tmp_path / 'r.md'
    cm.main(['--report-only', '--methods', 'baseline-pre', 'isn-pre', '--seeds', '0',
             '--iters-of', 'baseline-pre=16', 'isn-pre=32', '--curve-iters', '8', '16', '32',
             '--curve-methods', 'baseline-pre', 'isn-pre', '--work-dir', str(tmp_path / 'cmp'),
             '--data-root', synthetic_tiny['data_root'], '--preset', 'tiny', '--out', str(out)])
    text = out.read_text()
    assert (tmp_path / 'cmp' / 'learning_curves.png').stat().st_size > 0
    curve = text[text.index('Learning curves'):].splitlines()
    header = [c.strip() for c in curve[2].strip('|').split('|')]
    assert header == ['iterations'] + [f'{n}, {t}' for n in ('baseline-pre', 'isn-pre')
                                       for t, _ in cm.METHODS[n][3]]
    cells = {r.split('|')[1].strip(): [c.strip() for c in r.strip('|').split('|')[1:]]
             for r in curve[4:7]}
    assert cells['8'] == ['10.0', '11.0', '12.0', '', '', '']
    assert cells['16'] == ['12.0', '13.0', '14.0', '20.0', '21.0', '22.0']
    assert cells['32'] == ['', '', '', '25.0', '26.0', '27.0']
    with pytest.raises(SystemExit):
        cm.parse_args(['--curve-methods', 'nope'])
    with pytest.raises(SystemExit):  # a pretrained curve is trained: it needs the backbone file
        cm.parse_args(['--curve-iters', '8', '--curve-methods', 'isn-pre'])
    assert cm.parse_args(['--curve-iters', '8', '--curve-methods', 'isn-pre',
                          '--report-only']).curve_methods == ['isn-pre']


def test_compare_learning_curves_of_the_keypoint_task_plot_box_and_keypoint_ap(tmp_path,
                                                                                synthetic_tiny):
    """--task keypoints: a curve table per metric (box AP, then keypoint AP), each from that
    metric's AP of the cached runs in WORK_DIR/keypoints/."""
    cm = _compare_module()
    runs = {('baseline-pre', 8): 0.10, ('baseline-pre', 16): 0.12, ('isn-pre-light', 16): 0.20}
    for (name, iters), ap in runs.items():
        run = tmp_path / 'cmp' / 'keypoints' / name / f'seed0_it{iters}'
        run.mkdir(parents=True)
        tests = {t: {'bbox_mAP': ap + 0.01 * k, 'keypoints_mAP': ap / 10 + 0.001 * k}
                 for k, (t, _) in enumerate(cm.METHODS[name][3])}
        (run / 'result.json').write_text(json.dumps(dict(
            method=name, seed=0, iters=iters, batch=4, train_seconds=60.0, tests=tests,
            task='keypoints')))
    out = tmp_path / 'r.md'
    cm.main(['--task', 'keypoints', '--report-only', '--methods', 'baseline-pre',
             'isn-pre-light', '--seeds', '0', '--iters', '16', '--curve-iters', '8', '16',
             '--curve-methods', 'baseline-pre', 'isn-pre-light', '--work-dir',
             str(tmp_path / 'cmp'), '--data-root', synthetic_tiny['data_root'], '--preset',
             'tiny', '--out', str(out)])
    assert (tmp_path / 'cmp' / 'keypoints' / 'learning_curves.png').stat().st_size > 0
    text = out.read_text()
    curves = text[text.index('Learning curves'):]
    box = curves[curves.index('Box AP (bbox):'):curves.index('Keypoint AP')].splitlines()
    kps = curves[curves.index('Keypoint AP'):].splitlines()
    names = [f'{n}, {t}' for n in ('baseline-pre', 'isn-pre-light') for t, _ in cm.METHODS[n][3]]
    for part, expect in ((box, {'8': ['10.0', '11.0', '12.0', ''],
                                '16': ['12.0', '13.0', '14.0', '20.0']}),
                         (kps, {'8': ['1.0', '1.1', '1.2', ''],
                                '16': ['1.2', '1.3', '1.4', '2.0']})):
        assert [c.strip() for c in part[2].strip('|').split('|')] == ['iterations'] + names
        cells = {r.split('|')[1].strip(): [c.strip() for c in r.strip('|').split('|')[1:]]
                 for r in part[4:6]}
        assert cells == expect


def _pre_args(tmp_path, task='detection', **files):
    """compare_methods' parsed arguments for building the *-pre method configs: an (empty)
    backbone file, ``files`` (e.g. neg_proposals=PATH) added as they are."""
    from types import SimpleNamespace
    f = tmp_path / 'bb.pth'
    f.write_bytes(b'')
    return SimpleNamespace(task=task, data_root=str(tmp_path), device='cpu', pretrained=str(f),
                           **files)


def test_compare_scale_weighted_rows_set_the_chip_dataset_repeats(tmp_path):
    """isn-pre-x1w2 / isn-pre-coarsew2 = isn-pre + ChipDataset(scale_repeats=...), same tests."""
    from mmengine.config import Config
    from mmdet_scalenorm.utils.config import set_scale_repeats
    cm = _compare_module()
    args = _pre_args(tmp_path)
    want = {'isn-pre': None, 'isn-pre-x1w2': (1, 1, 2, 1, 1),
            'isn-pre-coarsew2': (1, 1, 2, 2, 2)}
    for name, reps in want.items():
        cfg = cm.method_config(name, args, seed=0, work=str(tmp_path / name))
        ds = cfg.train_dataloader.dataset
        assert ds.type == 'ChipDataset' and ds.get('scale_repeats') == reps, name
        assert cm.METHODS[name][3] == cm.METHODS['isn-pre'][3]
    with pytest.raises(ValueError, match='no ChipDataset'):
        set_scale_repeats(Config(dict(train_dataloader=dict(dataset=dict(type='CocoDataset')))),
                          (1, ) * 5)


def test_compare_scale_batch_row_adds_only_the_scale_batch_sampler(tmp_path):
    """isn-pre-scalebatch = isn-pre + ChipScaleBatchSampler (nothing else), ISN's test (the
    sampler's one-scale batches are tested in test_chip_scale_batch_sampler.py)."""
    from mmengine.config import Config
    from mmdet_scalenorm.utils.config import set_scale_batches
    cm = _compare_module()
    args = _pre_args(tmp_path)
    ref = cm.method_config('isn-pre', args, seed=0, work=str(tmp_path / 'a'))
    cfg = cm.method_config('isn-pre-scalebatch', args, seed=0, work=str(tmp_path / 'a'))
    assert ref.train_dataloader.batch_sampler is None
    assert cfg.train_dataloader.batch_sampler == dict(type='ChipScaleBatchSampler')
    cfg.train_dataloader.batch_sampler = None
    assert cfg.to_dict() == ref.to_dict()
    assert cm.METHODS['isn-pre-scalebatch'][3] == [(cm.MS_ISN, 'config')]  # isn-pre's 5-scale test
    with pytest.raises(ValueError, match='no ChipDataset'):
        set_scale_batches(Config(dict(train_dataloader=dict(dataset=dict(type='CocoDataset')))))


@pytest.mark.parametrize('method, ref_method', [('isn-pre-light', 'isn-pre'),
                                               ('isn-light', 'isn')])
def test_compare_light_head_rows_are_isn_with_the_light_head_config(tmp_path, method, ref_method):
    """isn-pre-light / isn-light (keypoints) = isn-pre / isn (pretrained / from-scratch backbone)
    with the light-head config's keypoint head and RoI size, nothing else; ISN's 5-scale test;
    the other tasks refuse them (they have no such config)."""
    from mmengine.config import Config
    cm = _compare_module()
    args = _pre_args(tmp_path, task='keypoints')
    ref = cm.method_config(ref_method, args, seed=0, work=str(tmp_path / 'a'))
    cfg = cm.method_config(method, args, seed=0, work=str(tmp_path / 'a'))
    light = Config.fromfile(os.path.join(cm.SYN, cm.CONFIGS['keypoints']['isn-light']))
    rh = cfg.model.roi_head
    assert rh.keypoint_head == light.model.roi_head.keypoint_head
    assert rh.keypoint_head.type == 'ISNKeypointHead'
    assert tuple(rh.keypoint_roi_extractor.roi_layer.output_size) == (22, 16)
    assert cfg.model.backbone == ref.model.backbone  # pretrained only in the -pre row
    assert (cfg.model.backbone.init_cfg is not None) == ('-pre' in method)
    for c in (cfg, ref):
        c.model.roi_head.keypoint_head = None
        c.model.roi_head.keypoint_roi_extractor.roi_layer.output_size = None
    assert cfg.to_dict() == ref.to_dict()
    assert cm.METHODS[method][3] == [(cm.MS_ISN, 'config')]
    assert method not in cm.task_methods('keypoints')  # not a default row
    for task in ('detection', 'instance'):
        with pytest.raises(ValueError, match='has no isn-light config'):
            cm.task_methods(task, [method])


def test_compare_negative_chip_row_mines_the_given_proposals(tmp_path):
    """isn-pre-neg = isn-pre + neg_proposals_file (nothing else), ISN's test; without an existing
    --neg-proposals file the command refuses to train it, and set_neg_proposals refuses a config
    that would leave the negatives off."""
    from mmengine.config import Config
    from mmdet_scalenorm.utils.config import set_neg_proposals
    cm = _compare_module()
    props = tmp_path / 'props.pkl'
    props.write_bytes(b'')
    args = _pre_args(tmp_path, neg_proposals=str(props))
    f = args.pretrained
    ref = cm.method_config('isn-pre', args, seed=0, work=str(tmp_path / 'a'))
    cfg = cm.method_config('isn-pre-neg', args, seed=0, work=str(tmp_path / 'a'))
    assert ref.train_dataloader.dataset.neg_proposals_file is None
    assert cfg.train_dataloader.dataset.neg_proposals_file == str(props)
    assert cfg.train_dataloader.dataset.neg_chips_per_image == 2
    cfg.train_dataloader.dataset.neg_proposals_file = None
    assert cfg.to_dict() == ref.to_dict()
    assert cm.METHODS['isn-pre-neg'][3] == [(cm.MS_ISN, 'config')]  # isn-pre's 5-scale test
    base = ['--methods', 'isn-pre-neg', '--pretrained', str(f)]
    for extra in ([], ['--neg-proposals', str(tmp_path / 'missing.pkl')]):
        with pytest.raises(SystemExit):
            cm.parse_args(base + extra)
    assert cm.parse_args(base + ['--neg-proposals', str(props)]).neg_proposals == str(props)
    assert cm.parse_args(['--methods', 'isn-pre-neg', '--report-only']).methods == ['isn-pre-neg']
    with pytest.raises(ValueError, match='no ChipDataset'):
        set_neg_proposals(Config(dict(train_dataloader=dict(dataset=dict(type='CocoDataset')))),
                          str(props))
    with pytest.raises(ValueError, match='neg_chips_per_image is 0'):
        set_neg_proposals(Config(dict(train_dataloader=dict(dataset=dict(
            type='ChipDataset', neg_chips_per_image=0)))), str(props))


def test_compare_refuses_a_cached_run_trained_from_other_input_files(tmp_path):
    """A cached run records the sha256 of the files it trained from (backbone, proposals); reusing
    it with another file is refused instead of reporting the old run under the new file."""
    import hashlib
    import json
    cm = _compare_module()
    bb, props, other = tmp_path / 'bb.pth', tmp_path / 'p.pkl', tmp_path / 'q.pkl'
    bb.write_bytes(b'backbone')
    props.write_bytes(b'proposals')
    other.write_bytes(b'other proposals')
    argv = ['--methods', 'isn-pre-neg', '--seeds', '0', '--iters', '1', '--train-only',
            '--work-dir', str(tmp_path / 'w'), '--pretrained', str(bb)]
    args = cm.parse_args(argv + ['--neg-proposals', str(props)])
    inputs = cm.run_inputs('isn-pre-neg', args)
    assert set(inputs) == {'pretrained', 'neg_proposals'}
    assert inputs['neg_proposals']['sha256'] == hashlib.sha256(b'proposals').hexdigest()
    assert inputs['pretrained']['sha256'] == hashlib.sha256(b'backbone').hexdigest()
    work = tmp_path / 'w' / 'isn-pre-neg' / 'seed0_it1'
    work.mkdir(parents=True)
    cached = dict(inputs, method='isn-pre-neg', seed=0, iters=1, train_seconds=1.0,
                  tests={cm.MS_ISN: {'bbox_mAP': 0.5}})
    (work / 'result.json').write_text(json.dumps(cached))
    assert cm.run_one('isn-pre-neg', 0, 1, args)['tests'] == cached['tests']  # same files: reused
    args = cm.parse_args(argv + ['--neg-proposals', str(other)])
    with pytest.raises(SystemExit, match='neg-proposals'):
        cm.run_one('isn-pre-neg', 0, 1, args)
