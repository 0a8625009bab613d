"""The README's code examples run as written: the Python inference example (in a folder laid out
as after `make demo`, with a checkpoint of the ISN config) and the analysis-tool commands' --help."""
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import pytest
import torch

from tests._tiny_config import REPO

README = open(osp.join(REPO, 'README.md')).read()


def code_blocks(lang):
    return re.findall(rf'```{lang}\n(.*?)```', README, flags=re.S)


def test_python_inference_example_runs_as_written(tmp_path, synthetic_tiny):
    (block, ) = [b for b in code_blocks('python') if 'inference_scalenorm' in b]
    cfg_path, ckpt = re.search(r"init_scalenorm_detector\('([^']+)',\s*'([^']+)'", block).groups()
    img = re.search(r"inference_scalenorm\(model, '([^']+)'\)", block).group(1)
    # the layout `make demo` leaves: configs/, the demo checkpoint, the generated images
    os.symlink(osp.join(REPO, 'configs'), tmp_path / 'configs')
    from mmdet.apis import init_detector
    import mmdet_scalenorm  # noqa: F401
    torch.manual_seed(0)
    model = init_detector(osp.join(REPO, cfg_path), None, device='cpu')
    os.makedirs(tmp_path / osp.dirname(ckpt))
    torch.save(dict(state_dict=model.state_dict(), meta={}), tmp_path / ckpt)
    os.makedirs(tmp_path / osp.dirname(img))
    shutil.copy(osp.join(synthetic_tiny['val_img'], sorted(os.listdir(
        synthetic_tiny['val_img']))[0]), tmp_path / img)
    env = dict(os.environ, PYTHONWARNINGS='ignore', OMP_NUM_THREADS='1',
               PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    p = subprocess.run([sys.executable, '-c', block], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, (p.stdout + p.stderr)[-4000:]
    assert 'tensor(' in p.stdout  # the boxes and scores were printed


@pytest.mark.parametrize('tool', ['tools/analysis_tools/compare_methods.py',
                                  'tools/analysis_tools/ablate_view_nms.py',
                                  'tools/analysis_tools/ablate_view_ranges.py',
                                  'tools/analysis_tools/keypoint_errors.py',
                                  'tools/misc/dump_proposals.py',
                                  'tools/misc/make_synthetic_dataset.py',
                                  'tools/misc/publish_model.py',
                                  'tools/misc/pretrain_backbone.py',
                                  'tools/misc/download_checkpoint.py',
                                  'tools/misc/gen_model_zoo.py'])
def test_tools_named_in_the_readme_exist_and_answer_help(tool):
    assert tool in README
    p = subprocess.run([sys.executable, tool, '--help'], cwd=REPO, capture_output=True,
                       text=True, timeout=120, env=dict(os.environ, PYTHONWARNINGS='ignore'))
    assert p.returncode == 0 and 'usage:' in p.stdout, p.stderr[-2000:]


def _expand_braces(path):
    m = re.search(r'\{([^{}]*)\}', path)
    if not m:
        return [path]
    return [p for alt in m.group(1).split(',')
            for p in _expand_braces(path[:m.start()] + alt + path[m.end():])]


def test_every_config_path_in_the_readme_exists():
    paths = set(re.findall(r'configs/[\w{},./-]+?\.py', README))
    assert len(paths) > 10
    missing = [p for path in paths for p in _expand_braces(path)
               if not osp.isfile(osp.join(REPO, p))]
    assert not missing, missing


def test_the_comparison_reports_are_quoted_unedited():
    """The README quotes the comparison reports compare_methods.py wrote, word for word."""
    import glob
    reports = sorted(glob.glob(osp.join(REPO, 'results', 'compare_methods', 'compare*.md')))
    assert len(reports) >= 3
    for path in reports:
        text = open(path).read().strip()
        assert text in README, f'{osp.relpath(path, REPO)} is not quoted unedited in README.md'
