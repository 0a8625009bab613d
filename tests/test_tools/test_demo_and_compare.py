"""Shortened end-to-end runs of `make demo` (tools/demo.py --quick) and of the method comparison
(issue 5): every artefact the README promises is written and holds real values."""
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
    assert glob.glob(str(work / '*' / '*.log')), 'no training log'
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


def test_compare_methods_writes_table(tmp_path):
    out_md = tmp_path / 'cmp.md'
    _run([sys.executable, 'tools/analysis_tools/compare_methods.py', '--methods', 'baseline',
          'isn', '--iters', '1', '--preset', 'tiny', '--data-root', str(tmp_path / 'data'),
          '--work-dir', str(tmp_path / 'cmp'), '--num-val', '1', '--out', str(out_md)])
    text = out_md.read_text()
    rows = [line for line in text.splitlines() if line.startswith('| baseline') or
            line.startswith('| isn')]
    # baseline: single-scale; isn: single-scale + multi-scale
    assert len(rows) == 3
    assert all(len(r.strip('|').split('|')) == 11 for r in rows)
    assert 'Command: `python tools/analysis_tools/compare_methods.py' in text
    assert 'Machine: ' in text and 'Date: ' in text
    raw = json.loads((tmp_path / 'cmp.json').read_text())
    assert set(raw['train_seconds']) == {'baseline', 'isn'}
