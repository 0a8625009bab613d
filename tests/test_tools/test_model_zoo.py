"""Model-zoo tooling: publishing a checkpoint, downloading and verifying one (against a loopback
HTTP server that honours or ignores ``Range``), metafile name resolution and the generated tables
of model_zoo.md."""
import functools
import hashlib
import http.server
import json
import os
import os.path as osp
import re
import shutil
import threading

import pytest
import torch
import yaml
from torch import nn

from mmdet_scalenorm.utils import model_zoo as mz
from tests._tiny_config import REPO, load_script

DATE = '20261202'


# ----------------------------------------------------------------------------------- publish
def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1))


@pytest.fixture
def train_ckpt(tmp_path):
    """A checkpoint laid out like mmengine's runner writes it, after one SGD step."""
    model = _model()
    optim = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(2, 3, 8, 8)).sum().backward()
    optim.step()
    meta = dict(epoch=1, iter=7, cfg='model = dict()', seed=0, dataset_meta=dict(classes=('a', )))
    path = str(tmp_path / 'epoch_1.pth')
    torch.save(dict(meta=meta, state_dict=model.state_dict(), optimizer=optim.state_dict(),
                    param_schedulers=[dict(last_step=7)], message_hub=dict(log_scalars={})),
               path)
    return path, model.state_dict(), meta


def test_publish_keeps_meta_and_weights_and_names_the_file_by_its_hash(tmp_path, train_ckpt):
    path, state, meta = train_ckpt
    res = mz.publish_checkpoint(path, str(tmp_path / 'out'), 'isn-x_coco', date=DATE)
    name = osp.basename(res['checkpoint'])
    m = re.fullmatch(r'isn-x_coco_20261202-([0-9a-f]{8})\.pth', name)
    assert m, name
    with open(res['checkpoint'], 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    assert m.group(1) == sha[:8] and res['sha256'] == sha
    assert res['dropped'] == ['optimizer', 'param_schedulers', 'message_hub']
    assert os.listdir(tmp_path / 'out') == [name]  # no temporary file left
    out = torch.load(res['checkpoint'], weights_only=True)  # plain tensors and builtins only
    assert set(out) == {'meta', 'state_dict'} and out['meta'] == meta
    assert out['state_dict'].keys() == state.keys()
    assert all(torch.equal(out['state_dict'][k], v) for k, v in state.items())
    assert mz.hash_from_filename(name) == sha[:8]
    assert mz.model_name_from_filename(name) == 'isn-x_coco'


def test_publish_fp16_loads_back_within_half_precision(tmp_path, train_ckpt):
    path, state, _ = train_ckpt
    res = mz.publish_checkpoint(path, str(tmp_path), 'cfg.py', fp16=True, date=DATE)
    assert osp.basename(res['checkpoint']).startswith('cfg_20261202-')
    saved = torch.load(res['checkpoint'], weights_only=True)['state_dict']
    assert saved['0.weight'].dtype == torch.float16
    assert saved['1.num_batches_tracked'].dtype == torch.int64  # integers untouched
    model = _model()
    model.load_state_dict(saved)  # the fp32 model upcasts on load
    for k, v in model.state_dict().items():
        if v.is_floating_point():
            assert v.dtype == torch.float32
            # round to nearest in fp16: relative error at most 2**-11, absolute 2**-25 for
            # subnormal values
            bound = torch.clamp(state[k].abs() * 2.0**-11, min=2.0**-25)
            assert torch.all((v - state[k]).abs() <= bound), k
            assert torch.equal(v, state[k].half().float()), k
        else:
            assert torch.equal(v, state[k])
    full = mz.publish_checkpoint(path, str(tmp_path), 'cfg', date=DATE)
    assert osp.getsize(res['checkpoint']) < osp.getsize(full['checkpoint'])


def test_publish_copies_the_runs_scalars_log(tmp_path, train_ckpt):
    path, _, _ = train_ckpt
    lines = [dict(loss=1.5, iter=1, step=1), dict(loss=1.25, iter=2, step=2)]
    vis = tmp_path / 'work' / '20261202_101010' / 'vis_data'
    vis.mkdir(parents=True)
    (vis / 'scalars.json').write_text(''.join(json.dumps(d) + '\n' for d in lines))
    res = publish_model_cli(['--log', str(tmp_path / 'work')], path, tmp_path / 'out')
    assert res['log'] == str(tmp_path / 'out' / 'isn-x_20261202.log.json')
    assert [json.loads(x) for x in open(res['log'])] == lines
    # a second run in the same work dir: which one is ambiguous, the file must be named
    (tmp_path / 'work' / '20261203_000000' / 'vis_data').mkdir(parents=True)
    shutil.copy(vis / 'scalars.json', tmp_path / 'work' / '20261203_000000' / 'vis_data')
    with pytest.raises(SystemExit, match=r'2 runs.*pass the log file itself'):
        publish_model_cli(['--log', str(tmp_path / 'work')], path, tmp_path / 'out2')
    (vis / 'scalars.json').write_text('{"loss": 1}\nnot json\n')
    with pytest.raises(mz.ModelZooError, match=r'scalars.json, line 2'):
        mz.publish_checkpoint(path, str(tmp_path / 'out3'), 'x', log=str(vis / 'scalars.json'))


def publish_model_cli(extra, ckpt, out):
    tool = load_script('tools/misc/publish_model.py')
    return tool.main([str(ckpt), str(out), '--config', 'isn-x', '--date', DATE] + extra)


def test_publish_rejects_a_file_without_state_dict(tmp_path):
    torch.save(dict(meta={}), tmp_path / 'x.pth')
    with pytest.raises(mz.ModelZooError, match=r'no state_dict'):
        mz.publish_checkpoint(str(tmp_path / 'x.pth'), str(tmp_path), 'x')


# ---------------------------------------------------------------------------------- download
class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files of a folder; honours ``Range: bytes=N-`` unless ``server.ranges`` is off.
    Records each request's Range header and the body bytes sent; ``server.cut`` sends only that
    many bytes of the body (with the full Content-Length) and drops the connection."""

    def do_GET(self):
        srv = self.server
        path = self.translate_path(self.path)
        rng = self.headers.get('Range')
        srv.requests.append(rng)
        if not osp.isfile(path):
            self.send_error(404)
            return
        with open(path, 'rb') as f:
            data = f.read()
        start = 0
        if rng and srv.ranges:
            start = int(re.fullmatch(r'bytes=(\d+)-', rng).group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header('Content-Range', f'bytes */{len(data)}')
                self.send_header('Content-Length', '0')
                self.end_headers()
                return
            self.send_response(206)
            self.send_header('Content-Range', f'bytes {start}-{len(data) - 1}/{len(data)}')
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if srv.cut is not None:
            body = body[:srv.cut]
            self.close_connection = True
        srv.sent.append(len(body))  # before writing: the client may finish reading first
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp('www')  # outside tmp_path, which holds the downloads
    srv = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0), functools.partial(RangeHandler, directory=str(root)))
    srv.requests, srv.sent, srv.ranges, srv.cut, srv.root = [], [], True, None, root
    srv.url = f'http://127.0.0.1:{srv.server_address[1]}'
    thread = threading.Thread(target=srv.serve_forever, args=(0.05, ), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _publish_blob(root, size=300_000, seed=0, name='m'):
    """Random bytes saved as ``<name>_<DATE>-<sha8>.pth``; returns (file name, bytes)."""
    data = torch.randint(0, 256, (size, ), generator=torch.Generator().manual_seed(seed),
                         dtype=torch.uint8).numpy().tobytes()
    fname = f'{name}_{DATE}-{hashlib.sha256(data).hexdigest()[:8]}.pth'
    (root / fname).write_bytes(data)
    return fname, data


def test_download_full_file(tmp_path, server):
    fname, data = _publish_blob(server.root)
    path = mz.download(f'{server.url}/{fname}', str(tmp_path / 'dl'), progress=False)
    assert path == str(tmp_path / 'dl' / fname) and open(path, 'rb').read() == data
    assert server.requests == [None] and server.sent == [len(data)]
    assert os.listdir(tmp_path / 'dl') == [fname]
    # a verified file already there is kept, nothing is requested
    assert mz.download(f'{server.url}/{fname}', str(tmp_path / 'dl'), progress=False) == path
    assert server.requests == [None]


def test_download_resumes_a_partial_file_with_only_the_missing_bytes(tmp_path, server):
    fname, data = _publish_blob(server.root)
    dest = tmp_path / 'dl'
    dest.mkdir()
    (dest / (fname + '.part')).write_bytes(data[:123_457])
    path = mz.download(f'{server.url}/{fname}', str(dest), progress=False)
    assert open(path, 'rb').read() == data
    assert server.requests == ['bytes=123457-'] and server.sent == [len(data) - 123_457]
    assert not (dest / (fname + '.part')).exists()


def test_interrupted_download_keeps_the_part_and_the_next_run_resumes_it(tmp_path, server):
    fname, data = _publish_blob(server.root)
    server.cut = 100_000
    with pytest.raises(mz.ModelZooError, match=r'100000 of 300000 bytes; run again to resume'):
        mz.download(f'{server.url}/{fname}', str(tmp_path), progress=False)
    assert (tmp_path / (fname + '.part')).read_bytes() == data[:100_000]
    server.cut = None
    mz.download(f'{server.url}/{fname}', str(tmp_path), progress=False)
    assert server.requests == [None, 'bytes=100000-'] and server.sent == [100_000, 200_000]
    assert (tmp_path / fname).read_bytes() == data


def test_a_complete_part_file_answered_416_is_finished_without_a_body(tmp_path, server):
    fname, data = _publish_blob(server.root)
    (tmp_path / (fname + '.part')).write_bytes(data)
    mz.download(f'{server.url}/{fname}', str(tmp_path), progress=False)
    assert server.requests == [f'bytes={len(data)}-'] and server.sent == []
    assert (tmp_path / fname).read_bytes() == data


def test_corrupted_download_is_an_error_naming_both_hashes_and_the_file_is_removed(
        tmp_path, server):
    fname, data = _publish_blob(server.root)
    bad = b'\x00' * 1000  # a corrupted beginning: the resumed file is wrong
    (tmp_path / (fname + '.part')).write_bytes(bad)
    actual = hashlib.sha256(bad + data[1000:]).hexdigest()
    with pytest.raises(mz.ChecksumError) as e:
        mz.download(f'{server.url}/{fname}', str(tmp_path), progress=False)
    assert f'expected {fname[-12:-4]}' in str(e.value) and f'got {actual}' in str(e.value)
    assert os.listdir(tmp_path) == []
    # a full hash given (the metafile's Weights SHA256) is checked in full
    with pytest.raises(mz.ChecksumError, match='expected ' + '0' * 64):
        mz.download(f'{server.url}/{fname}', str(tmp_path), sha256='0' * 64, progress=False)
    assert os.listdir(tmp_path) == []


def test_server_that_ignores_range_restarts_the_file_cleanly(tmp_path, server):
    fname, data = _publish_blob(server.root)
    server.ranges = False
    (tmp_path / (fname + '.part')).write_bytes(b'\xff' * 5000)  # wrong bytes, would corrupt
    path = mz.download(f'{server.url}/{fname}', str(tmp_path), progress=False)
    assert server.requests == ['bytes=5000-'] and server.sent == [len(data)]
    assert open(path, 'rb').read() == data


def test_http_error_and_missing_local_file_are_named(tmp_path, server):
    with pytest.raises(mz.ModelZooError, match=r'nothere_20261202-0123abcd.pth: HTTP 404'):
        mz.download(f'{server.url}/nothere_{DATE}-0123abcd.pth', str(tmp_path), progress=False)
    with pytest.raises(mz.ModelZooError, match=r'checkpoint not found: .*gone.pth'):
        mz.download(str(tmp_path / 'gone.pth'), str(tmp_path / 'dl'), progress=False)


def test_file_url_and_local_path_mirror_resume_too(tmp_path):
    mirror = tmp_path / 'mirror'
    mirror.mkdir()
    fname, data = _publish_blob(mirror, size=5000)
    a = mz.download((mirror / fname).as_uri(), str(tmp_path / 'a'), progress=False)
    assert open(a, 'rb').read() == data
    (tmp_path / 'b').mkdir()
    (tmp_path / 'b' / (fname + '.part')).write_bytes(data[:777])
    b = mz.download(str(mirror / fname), str(tmp_path / 'b'), progress=False)
    assert open(b, 'rb').read() == data


# -------------------------------------------------------------------------- name resolution
def _index(tmp_path, models, collections=None):
    """A model-index.yml importing one metafile; configs/x/<name>.py files created."""
    (tmp_path / 'configs' / 'x').mkdir(parents=True, exist_ok=True)
    for m in models:
        (tmp_path / m['Config']).write_text('# config\n')
    coll = collections or [dict(Name='X', Metadata={'Training Data': 'Toy', 'Batch Size': 16},
                                Paper=dict(URL='https://example.org/x'))]
    with open(tmp_path / 'configs' / 'x' / 'metafile.yml', 'w') as f:
        yaml.safe_dump(dict(Collections=coll, Models=models), f, sort_keys=False)
    with open(tmp_path / 'model-index.yml', 'w') as f:
        yaml.safe_dump({'Import': ['configs/x/metafile.yml']}, f)
    return str(tmp_path / 'model-index.yml')


def test_name_resolution_through_a_metafile_and_the_download_tool(tmp_path, server, capsys):
    fname, data = _publish_blob(server.root, name='a')
    sha = hashlib.sha256(data).hexdigest()
    index = _index(tmp_path / 'repo', [
        {'Name': 'a', 'In Collection': 'X', 'Config': 'configs/x/a.py',
         'Metadata': {'Epochs': 12, 'Test Args': '--tta'},
         'Weights': f'{server.url}/{fname}', 'Weights SHA256': sha},
        {'Name': 'b', 'In Collection': 'X', 'Config': 'configs/x/b.py'}])
    a = mz.find_model('a.py', index)
    assert (a.name, a.weights, a.sha256, a.config) == ('a', f'{server.url}/{fname}', sha,
                                                       'configs/x/a.py')
    assert a.config_path == str(tmp_path / 'repo' / 'configs' / 'x' / 'a.py')
    assert a.metadata == {'Training Data': 'Toy', 'Batch Size': 16, 'Epochs': 12,
                          'Test Args': '--tta'}
    with pytest.raises(mz.ModelZooError, match=r"no model named 'bb'.*did you mean \['b'\]"):
        mz.find_model('bb', index)

    tool = load_script('tools/misc/download_checkpoint.py')
    dest = tmp_path / 'ckpt'
    path = tool.main(['a', '--dest', str(dest), '--model-index', index, '--no-progress'])
    assert path == str(dest / fname) and open(path, 'rb').read() == data
    out = capsys.readouterr().out
    assert f'mim test mmdet_scalenorm configs/x/a.py --checkpoint {path} --tta\n' in out
    assert f'python tools/test.py configs/x/a.py {path} --tta\n' in out
    # a URL of a published file finds its model for the commands, and its full hash
    tool.main([f'{server.url}/{fname}', '--dest', str(dest), '--model-index', index,
               '--no-progress'])
    assert 'python tools/test.py configs/x/a.py' in capsys.readouterr().out
    with pytest.raises(SystemExit, match=r"'b' has no published checkpoint .* not trained yet"):
        tool.main(['b', '--dest', str(dest), '--model-index', index])

    bad = _index(tmp_path / 'repo2', [
        {'Name': 'a', 'In Collection': 'X', 'Config': 'configs/x/a.py',
         'Weights': f'{server.url}/{fname}', 'Weights SHA256': 'f' * 64}])
    with pytest.raises(SystemExit, match=rf'expected {"f" * 64}, got {sha}; the file was '
                       'removed'):
        tool.main(['a', '--dest', str(tmp_path / 'ckpt2'), '--model-index', bad, '--no-progress'])
    assert os.listdir(tmp_path / 'ckpt2') == []


def test_index_errors_name_the_metafile(tmp_path):
    dup = _index(tmp_path / 'd', [{'Name': 'a', 'Config': 'configs/x/a.py'}] * 2)
    with pytest.raises(mz.ModelZooError, match=r"model 'a' listed twice"):
        mz.load_model_index(dup)
    orphan = _index(tmp_path / 'o', [{'Name': 'a', 'Config': 'configs/x/a.py',
                                      'In Collection': 'Nope'}])
    with pytest.raises(mz.ModelZooError, match=r"In Collection 'Nope'.*known: \['X'\]"):
        mz.load_model_index(orphan)


def test_index_is_found_in_the_repo_or_the_installed_mim_folder(tmp_path, monkeypatch):
    assert mz.default_model_index() == osp.join(REPO, 'model-index.yml')
    pkg = tmp_path / 'site' / 'mmdet_scalenorm'
    (pkg / '.mim').mkdir(parents=True)
    _index(pkg / '.mim', [{'Name': 'a', 'Config': 'configs/x/a.py', 'In Collection': 'X'}])
    monkeypatch.setattr(mz, 'PKG_DIR', str(pkg))
    assert mz.default_model_index() == str(pkg / '.mim' / 'model-index.yml')
    assert mz.find_model('a').config_path == str(pkg / '.mim' / 'configs' / 'x' / 'a.py')


def test_repo_metafiles_list_every_config_and_untrained_models_say_so(capsys):
    models = mz.load_model_index()
    configs = {m.config for m in models}
    for folder in ('isn', 'ms', 'snip', 'synthetic'):
        shipped = {f'configs/{folder}/{f}' for f in os.listdir(osp.join(REPO, 'configs', folder))
                   if f.endswith('.py')}
        assert shipped <= configs, shipped - configs
    published = []
    for m in models:
        assert osp.basename(m.config) == m.name + '.py' and osp.isfile(m.config_path)
        if m.weights is None:
            assert m.mirror is None and not m.data.get('Training Log')
            continue
        # a published model ships its file: named after the model, its hash and the metafile's
        # full sha256 agree with the bytes, and its training log ships beside it
        published.append(m.name)
        fname = osp.basename(m.mirror)
        assert m.weights.endswith('/checkpoints/synthetic/' + fname)
        assert mz.model_name_from_filename(fname) == m.name
        assert mz.sha256sum(m.mirror) == m.sha256 and m.sha256.startswith(
            mz.hash_from_filename(fname))
        log = m.shipped(m.data['Training Log'])
        assert log and all('iter' in json.loads(ln) for ln in open(log) if ln.strip())
    assert {'isn-faster-rcnn_r18-tiny_fpn_1xb4-2k_synthetic',
            'faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic'} <= set(published)
    # the committed checkpoints stay below the stated size budget (README: 80 MB)
    folder = osp.join(REPO, 'checkpoints')
    size = sum(osp.getsize(osp.join(d, f)) for d, _, fs in os.walk(folder) for f in fs)
    assert size < 80e6, size
    tool = load_script('tools/misc/download_checkpoint.py')
    with pytest.raises(SystemExit, match=r'isn-faster-rcnn_r50_fpn_18e_coco.*not trained yet'):
        tool.main(['isn-faster-rcnn_r50_fpn_18e_coco'])


def test_a_shipped_checkpoint_is_copied_from_the_mirror_offline_and_verified(tmp_path, capsys):
    tool = load_script('tools/misc/download_checkpoint.py')
    name = 'isn-faster-rcnn_r18-tiny_fpn_1xb4-2k_synthetic'
    m = mz.find_model(name)
    path = tool.main([name, '--dest', str(tmp_path), '--no-progress'])
    assert path == str(tmp_path / osp.basename(m.mirror))
    assert mz.sha256sum(path) == m.sha256
    out = capsys.readouterr().out
    assert f'from the local mirror {m.mirror}' in out
    assert f'python tools/test.py {m.config} {path} --tta\n' in out
    # a mirror copy that does not match the metafile is refused; the mirror itself is kept
    bad_root = tmp_path / 'repo'
    shutil.copytree(osp.join(REPO, 'configs', 'synthetic'), bad_root / 'configs' / 'synthetic')
    (bad_root / 'model-index.yml').write_text('Import:\n  - configs/synthetic/metafile.yml\n')
    mirror = bad_root / 'checkpoints' / 'synthetic' / osp.basename(m.mirror)
    mirror.parent.mkdir(parents=True)
    data = bytearray(open(m.mirror, 'rb').read())
    data[-1] ^= 1
    mirror.write_bytes(bytes(data))
    with pytest.raises(SystemExit, match=rf'sha256 mismatch .* expected {m.sha256}.*removed'):
        tool.main([name, '--dest', str(tmp_path / 'bad'), '--no-progress',
                   '--model-index', str(bad_root / 'model-index.yml')])
    assert mirror.is_file() and os.listdir(tmp_path / 'bad') == []


def test_synthetic_results_are_the_numbers_of_the_comparison_they_cite():
    """Every Result of configs/synthetic/metafile.yml is the box AP cell of its (method, test)
    row in the comparison report it cites (results/compare_methods/compare*.md), or, for the
    models whose report gives means over seeds, the seed-0 run's own result.json."""
    table = {}
    for source in ('compare.md', 'compare_it2000.md'):
        text = open(osp.join(REPO, 'results', 'compare_methods', source)).read()
        for line in text.splitlines():
            cells = [c.strip() for c in line.strip('|').split('|')]
            if len(cells) == 13 and re.fullmatch(r'\d+\.\d', cells[3]):
                table[f'results/compare_methods/{source}', cells[0], cells[2]] = float(cells[3])
    method = {'faster-rcnn': 'baseline', 'ms-faster-rcnn': 'mst', 'isn-faster-rcnn': 'isn',
              'mask-rcnn': 'baseline', 'ms-mask-rcnn': 'mst', 'isn-mask-rcnn': 'isn',
              'keypoint-rcnn': 'baseline', 'isn-keypoint-rcnn': 'isn',
              'isn-keypoint-rcnn-light': 'isn-light'}
    checked = runs = 0
    for m in mz.load_model_index():
        iters = m.metadata.get('Iterations')
        for r in m.data.get('Results') or []:
            test = r.get('Test', m.metadata['Test'])
            task = 'instance/' if '-mask-rcnn' in '-' + m.name else \
                'keypoints/' if '-keypoint-rcnn' in '-' + m.name else ''
            # the three-seed reports have means, the mask and keypoint models no report of
            # their own: the seed-0 run's result.json is cited
            if '-pre_' in m.name or task:
                meth = method[m.name.split('_')[0]] + ('-pre' if '-pre_' in m.name else '')
                assert r['Source'] == \
                    f'results/compare_methods/{task}{meth}/seed0_it{iters}/result.json'
                run = json.load(open(osp.join(REPO, r['Source'])))
                assert (run['method'], run['seed'], run['iters']) == (meth, 0, iters)
                assert run['task'] == (task.rstrip('/') or 'detection')
                (name, ) = [k for k in run['tests']
                             if test == k or test.startswith((k + ' (', k + ', '))]
                expected = {'box AP': round(100 * run['tests'][name]['bbox_mAP'], 1)}
                if task == 'instance/':
                    expected['mask AP'] = round(100 * run['tests'][name]['segm_mAP'], 1)
                if task == 'keypoints/':
                    expected['keypoint AP'] = round(100 * run['tests'][name]['keypoints_mAP'], 1)
                assert r['Metrics'] == expected, (m.name, name)
                runs += 1
                continue
            assert r['Source'] == ('results/compare_methods/compare.md' if iters == 1000 else
                                   f'results/compare_methods/compare_it{iters}.md')
            (key, ) = [k for k in table if k[0] == r['Source'] and
                       k[1] == method[m.name.split('_')[0]] and
                       (test == k[2] or test.startswith(k[2] + ' ('))]
            assert r['Metrics'] == {'box AP': table[key]}, (m.name, key)
            checked += 1
    # *-pre detection, Mask R-CNN, keypoint Results; from-scratch Mask R-CNN, keypoint Results
    assert checked == len(table) >= 7 and runs == 4 + 5 + 4 + 5 + 2 + 3


# --------------------------------------------------------------------------------- generator
def test_generated_rows_carry_the_metafile_values(tmp_path):
    gen = load_script('tools/misc/gen_model_zoo.py')
    index = _index(tmp_path, [
        {'Name': 'a', 'In Collection': 'X', 'Config': 'configs/x/a.py',
         'Metadata': {'Epochs': 1, 'Method': 'A | B', 'Test': '3 scales', 'Test Args': '--tta',
                      'Paper Result': 'X Table 1: 40.0'}},
        {'Name': 'b', 'In Collection': 'X', 'Config': 'configs/x/b.py',
         'Metadata': {'Iterations': 500, 'Batch Size': 2, 'Paper Result': 'X Table 1: 40.0'},
         'Results': [{'Task': 'Instance Segmentation', 'Dataset': 'Toy',
                      'Metrics': {'mask AP': 30.25, 'box AP': 41.04}, 'Source': 'r/c.md'},
                     {'Task': 'Object Detection', 'Dataset': 'Toy',
                      'Metrics': {'box AP': 42}, 'Test': 'flip'}],
         'Weights': 'https://h/b_20261202-0123abcd.pth', 'Training Log': 'https://h/b.log.json'}])
    block = gen.render(mz.load_model_index(index))
    assert block.startswith(gen.BEGIN) and block.endswith(gen.END)
    rows = [ln for ln in block.splitlines() if ln.startswith('| [')]
    assert rows == [
        r'| [a.py](configs/x/a.py) | A \| B | 1 epoch, batch 16 | 3 scales (`--tta`) | '
        r'**not trained yet** (paper, X Table 1: 40.0) | — | — |',
        '| [b.py](configs/x/b.py) | — | 500 iterations, batch 2 | — | [41.0](r/c.md) | '
        '[30.2](r/c.md) | [model](https://h/b_20261202-0123abcd.pth) / '
        '[log](https://h/b.log.json) |',
        '| [b.py](configs/x/b.py) | — | 500 iterations, batch 2 | flip | 42.0 | — | '
        '[model](https://h/b_20261202-0123abcd.pth) / [log](https://h/b.log.json) |']
    assert '| config | method | train | test | box AP | mask AP | checkpoint |' in block
    assert '## Toy' in block and '[paper](https://example.org/x)' in block


def test_check_passes_on_the_repo_and_fails_after_an_edit_of_the_tables(tmp_path, capsys):
    gen = load_script('tools/misc/gen_model_zoo.py')
    assert gen.main(['--check']) == 0
    text = open(osp.join(REPO, 'model_zoo.md')).read()
    assert '**not trained yet** (paper, ISN Table 4: 42.9)' in text
    assert '[30.4](results/compare_methods/compare.md)' in text
    # a shipped checkpoint is linked in the repository, not at its URL
    assert '[model](checkpoints/synthetic/isn-faster-rcnn_r18-tiny_fpn_1xb4-2k_synthetic_' \
        '20261202-1737d444.pth)' in text
    md = tmp_path / 'model_zoo.md'
    md.write_text(text.replace('[30.4](results', '[31.4](results'))
    assert gen.main(['--check', '--out', str(md)]) == 1
    assert '-| [isn-faster-rcnn_r18' in capsys.readouterr().out  # the diff names the row
    assert '[31.4](results' in md.read_text()  # --check writes nothing
    # prose outside the markers is the author's: kept by a regeneration, not a difference
    md.write_text(md.read_text().replace('# Model zoo\n', '# Model zoo\n\nHand-written.\n'))
    assert gen.main(['--out', str(md)]) == 0
    assert gen.main(['--check', '--out', str(md)]) == 0
    new = md.read_text()
    assert 'Hand-written.' in new and '[30.4](results' in new and '[31.4]' not in new
    md.write_text(text.replace(gen.END, ''))
    assert gen.main(['--check', '--out', str(md)]) == 2
    assert 'must hold the line' in capsys.readouterr().err
