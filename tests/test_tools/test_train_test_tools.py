"""End-to-end checks of the foundation: tools/train.py + tools/test.py, registry errors,
resume after SIGKILL, 2-process CPU training with tools/dist_train.sh, and mim against a regular
install.  All on the generated ``synthetic_tiny`` data."""
import glob
import json
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time

import pytest
import torch

from tests._tiny_config import REPO, write_tiny_config

PY = sys.executable
pytestmark = pytest.mark.slow


def _env(**extra):
    env = dict(os.environ)
    env['PYTHONWARNINGS'] = 'ignore'
    env['OMP_NUM_THREADS'] = '1'
    env.update(extra)
    return env


def _run(cmd, cwd=REPO, timeout=600, **env):
    p = subprocess.run(cmd, cwd=cwd, env=_env(**env), capture_output=True, text=True,
                       timeout=timeout)
    out = p.stdout + p.stderr
    assert p.returncode == 0, f'{cmd} failed ({p.returncode}):\n{out[-6000:]}'
    return out


def _scalars_of_run(vis_dir):
    with open(osp.join(vis_dir, 'scalars.json')) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _scalars(work_dir):
    """All rows of mmengine's scalars.json of the newest run in ``work_dir``."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    assert files, f'no scalars.json under {work_dir}'
    rows = []
    for f in files:
        with open(f) as fh:
            rows += [json.loads(line) for line in fh if line.strip()]
    return rows


def test_wrong_type_fails_at_build(tmp_path, synthetic_tiny):
    from mmengine.config import Config
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfg_path = write_tiny_config(tmp_path / 'bad.py', synthetic_tiny,
                                 extra="model = dict(type='FasterRCNNNoSuchThing')")
    cfg = Config.fromfile(str(cfg_path))
    with pytest.raises(KeyError, match='FasterRCNNNoSuchThing is not in the'):
        MODELS.build(cfg.model)


def test_train_then_test_with_tools(tmp_path, synthetic_tiny):
    cfg = write_tiny_config(tmp_path / 'tiny.py', synthetic_tiny, max_iters=2)
    work = tmp_path / 'work'
    _run([PY, 'tools/train.py', str(cfg), '--work-dir', str(work)])
    ckpt = work / 'iter_2.pth'
    assert ckpt.exists()
    rows = _scalars(str(work))
    losses = [r['loss'] for r in rows if 'loss' in r]
    assert len(losses) == 2 and all(torch.isfinite(torch.tensor(losses)))
    out = _run([PY, 'tools/test.py', str(cfg), str(ckpt), '--work-dir', str(work / 'test')])
    assert re.search(r'bbox_mAP: -?\d', out), out[-3000:]


def test_resume_after_sigkill_continues_from_last_checkpoint(tmp_path, synthetic_tiny):
    """Kill training right after its iter-2 checkpoint, resume, and reach the same final
    iteration, having redone nothing before the checkpoint and lost nothing it held.

    (Bit-equality with an uninterrupted run is not expected: mmengine does not checkpoint the
    RNG states that drive flips and RoI sampling.)"""
    cfg = write_tiny_config(tmp_path / 'tiny.py', synthetic_tiny, max_iters=4, ckpt_interval=2)
    ref = tmp_path / 'ref'
    _run([PY, 'tools/train.py', str(cfg), '--work-dir', str(ref), '--cfg-options',
          'train_cfg.max_iters=2'])

    work = tmp_path / 'killed'
    proc = subprocess.Popen([PY, 'tools/train.py', str(cfg), '--work-dir', str(work)],
                            cwd=REPO, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (work / 'last_checkpoint').exists():
        assert proc.poll() is None, 'training ended before its first checkpoint'
        assert time.time() < deadline, 'no checkpoint within 300 s'
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (work / 'iter_4.pth').exists(), 'run finished before it could be killed'
    killed_at = torch.load(work / 'iter_2.pth', map_location='cpu', weights_only=False)

    out = _run([PY, 'tools/train.py', str(cfg), '--work-dir', str(work), '--resume'])
    assert re.search(r'resumed epoch: \d+, iter: 2', out), out[-3000:]
    assert 'Advance dataloader 2 steps' in out
    # The resumed run trained iterations 3 and 4 only.
    resumed_rows = _scalars_of_run(sorted(glob.glob(str(work / '*' / 'vis_data')))[-1])
    assert [r['iter'] for r in resumed_rows if 'loss' in r] == [3, 4]
    final = torch.load(work / 'iter_4.pth', map_location='cpu', weights_only=False)
    assert final['meta']['iter'] == 4
    # What the checkpoint held (weights, optimizer momentum) is what an uninterrupted run had at
    # iteration 2, and training went on from it.
    ref2 = torch.load(ref / 'iter_2.pth', map_location='cpu', weights_only=False)
    for k, v in ref2['state_dict'].items():
        torch.testing.assert_close(killed_at['state_dict'][k], v, msg=lambda m: f'{k}: {m}')
    assert ref2['optimizer']['state'] and \
        len(final['optimizer']['state']) == len(ref2['optimizer']['state'])
    w = 'roi_head.bbox_head.fc_cls.weight'
    assert not torch.equal(final['state_dict'][w], killed_at['state_dict'][w])


def test_dist_train_two_cpu_processes(tmp_path, synthetic_tiny):
    cfg = write_tiny_config(tmp_path / 'tiny.py', synthetic_tiny, max_iters=2)
    work = tmp_path / 'dist'
    port = str(29500 + os.getpid() % 1000)
    out = _run(['bash', 'tools/dist_train.sh', str(cfg), '2', '--work-dir', str(work),
                '--cfg-options', 'env_cfg.dist_cfg.backend=gloo'],
               PYTHON=PY, PORT=port)
    assert re.search(r'world_size: 2|World size: 2', out, re.I) or '2 processes' in out \
        or 'Distributed training: True' in out, out[-3000:]
    # Both ranks must step: DDP's gradient all-reduce blocks unless every rank runs each iteration,
    # so reaching the last iteration's checkpoint means both stepped twice.
    assert (work / 'iter_2.pth').exists()
    rows = [r for r in _scalars(str(work)) if 'loss' in r]
    assert [r['iter'] for r in rows] == [1, 2]


def test_mim_train_and_test_from_regular_install(tmp_path, synthetic_tiny):
    """mim finds packages through pkg_resources, which does not see editable installs: install
    the package regularly into a target dir and run mim from an unrelated directory."""
    target = tmp_path / 'site'
    _run([PY, '-m', 'pip', 'install', '-q', '--no-deps', '--no-build-isolation',
          '--no-compile', '--target', str(target), REPO], timeout=300)
    mim_dir = target / 'mmdet_scalenorm' / '.mim'
    assert (mim_dir / 'tools' / 'train.py').is_file()
    assert (mim_dir / 'model-index.yml').is_file()
    assert glob.glob(str(mim_dir / 'configs' / 'isn' / '*.py'))
    cfg = write_tiny_config(tmp_path / 'tiny.py', synthetic_tiny, max_iters=2)
    cwd = tmp_path / 'elsewhere'
    cwd.mkdir()
    env = dict(PYTHONPATH=str(target))
    mim = osp.join(osp.dirname(PY), 'mim')
    work = tmp_path / 'mimwork'
    out = _run([mim, 'train', 'mmdet_scalenorm', str(cfg), '--launcher', 'none',
                '--work-dir', str(work)], cwd=cwd, **env)
    # mim ran the installed copy of tools/train.py, not the repository's
    assert re.search(rf'Training command is \S*python\S* {re.escape(str(mim_dir))}/tools/train\.py',
                     out), out[-3000:]
    assert (work / 'iter_2.pth').exists()
    # a config named by file name only is found inside the installed package, and its relative
    # and mmdet:: _base_ files resolve there
    root = osp.dirname(osp.dirname(synthetic_tiny['train_ann'])) + '/'
    # the ISN config's training dataset is a ChipDataset around the COCO dataset
    opts = [f'{k}.data_root={root}' for k in
            ('train_dataloader.dataset.dataset', 'val_dataloader.dataset',
             'test_dataloader.dataset')]
    opts += [f'{k}.num_workers=0' for k in ('train_dataloader', 'val_dataloader',
                                           'test_dataloader')]
    opts += [f'{k}.persistent_workers=False' for k in ('train_dataloader', 'val_dataloader',
                                                      'test_dataloader')]
    opts += [f'{k}.ann_file={root}annotations/instances_val.json'
             for k in ('val_evaluator', 'test_evaluator')]
    opts += ['train_cfg.max_iters=1', 'train_cfg.val_begin=100', 'param_scheduler=[]']
    out = _run([mim, 'train', 'mmdet_scalenorm',
                'isn-faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py',
                '--launcher', 'none', '--work-dir', str(tmp_path / 'byname'), '--cfg-options',
                *opts], cwd=cwd, **env)
    assert f'{mim_dir}/configs/synthetic/isn-faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py' in out \
        or 'we find the config file in codebase mmdet_scalenorm' in out, out[-3000:]
    assert (tmp_path / 'byname' / 'iter_1.pth').exists()
    out = _run([mim, 'test', 'mmdet_scalenorm', str(cfg), '--checkpoint',
                str(work / 'iter_2.pth'), '--launcher', 'none',
                '--work-dir', str(work / 'test')], cwd=cwd, **env)
    assert re.search(rf'Testing command is \S*python\S* {re.escape(str(mim_dir))}/tools/test\.py',
                     out), out[-3000:]
    assert re.search(r'bbox_mAP: -?\d', out), out[-3000:]
    # mim search reads the installed package's .mim/model-index.yml: every model of the metafiles
    out = _run([mim, 'search', 'mmdet_scalenorm'], cwd=cwd, **env)
    from mmdet_scalenorm.utils.model_zoo import load_model_index
    names = [m.name for m in load_model_index(osp.join(REPO, 'model-index.yml'))]
    assert names and all(f'config id: {n}\n' in out for n in names), out[-3000:]
    _check_installed_checkpoints(target, mim_dir, cwd, mim)


def _check_installed_checkpoints(target, mim_dir, cwd, mim):
    """The published checkpoints ship in the installed .mim/checkpoints: the download tool of the
    installed package copies one from there offline; `mim download` fetches its Weights URL (here
    rewritten to a loopback server) and dumps the config (mim checks no hash: we do)."""
    import functools
    import http.server
    import threading
    from mmdet_scalenorm.utils.model_zoo import find_model, sha256sum
    name = 'isn-faster-rcnn_r18-tiny_fpn_1xb4-2k_synthetic'
    m = find_model(name, osp.join(REPO, 'model-index.yml'))
    fname = osp.basename(m.mirror)
    assert sha256sum(str(mim_dir / 'checkpoints' / 'synthetic' / fname)) == m.sha256
    env = dict(PYTHONPATH=str(target))
    out = _run([PY, str(mim_dir / 'tools' / 'misc' / 'download_checkpoint.py'), name, '--dest',
                str(cwd / 'dl'), '--no-progress'], cwd=cwd, **env)
    assert f'from the local mirror {mim_dir}/checkpoints/synthetic/{fname}' in out, out[-3000:]
    assert sha256sum(str(cwd / 'dl' / fname)) == m.sha256

    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=osp.join(REPO, 'checkpoints')))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        meta = mim_dir / 'configs' / 'synthetic' / 'metafile.yml'
        url = m.weights[:m.weights.index('/checkpoints/') + len('/checkpoints/')]
        meta.write_text(meta.read_text().replace(
            url, f'http://127.0.0.1:{srv.server_address[1]}/'))
        out = _run([mim, 'download', 'mmdet_scalenorm', '--config', name, '--dest',
                    str(cwd / 'mimdl')], cwd=cwd, **env)
    finally:
        srv.shutdown()
        srv.server_close()
    assert sha256sum(str(cwd / 'mimdl' / fname)) == m.sha256, out[-3000:]
    assert (cwd / 'mimdl' / f'{name}.py').is_file()
