"""Model-zoo plumbing: publish a checkpoint, find a model in the metafiles, download and verify it.

The conventions are MMDetection 3.x's (``tools/model_converters/publish_model.py`` and its model
zoo) and OpenMMLab's model index (the format ``mim search`` reads):

* A published checkpoint keeps only ``meta`` and ``state_dict``: the optimizer, the parameter
  schedulers and the message hub are training state. It is named
  ``<config name>_<YYYYMMDD>-<first 8 hex digits of its sha256>.pth``. With ``fp16`` its floating
  tensors are stored as float16; ``nn.Module.load_state_dict`` copies them into the model's
  float32 parameters (``Tensor.copy_`` casts), so loading upcasts them again.
* ``model-index.yml`` imports one ``configs/<folder>/metafile.yml`` per folder (paths relative to
  the index). It is found in the repository or, in a regular install, in the package's ``.mim/``.
  A model's ``Weights`` is its checkpoint's URL (``http(s)://``, ``file://`` or a local path, e.g.
  a mirror). Its full sha256 may be given as ``Weights SHA256`` (a field of this project; mim
  ignores it); without it the 8-hex prefix in the file name is checked. A model without
  ``Weights`` has no published checkpoint: it is not trained yet.
* The published checkpoints of this project also ship with it: ``checkpoints/<config folder>/<file
  name of Weights>`` beside ``model-index.yml`` (the repository, or ``.mim/`` of a regular
  install) is the model's local mirror, used before the URL (see :attr:`ModelEntry.mirror`).
* A download goes to ``<file>.part`` and resumes it with an HTTP ``Range: bytes=N-`` request (RFC
  9110 §14). A server that answers ``200`` instead of ``206`` ignores ranges, so the file is
  restarted from byte 0. A file whose hash does not match is removed.
"""
import datetime
import difflib
import glob
import hashlib
import http.client
import io
import json
import os
import os.path as osp
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

__all__ = [
    'ModelZooError', 'ChecksumError', 'ModelEntry', 'sha256sum', 'hash_from_filename',
    'model_name_from_filename', 'published_name', 'publish_checkpoint', 'find_training_log',
    'default_model_index', 'load_model_index', 'find_model', 'download', 'verify_sha256'
]

PKG_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
_HASH_RE = re.compile(r'-([0-9a-f]{8,64})\.pth$')
_CHUNK = 1 << 20


class ModelZooError(RuntimeError):
    """A model-zoo operation that cannot go on (unknown name, no weights, bad file, HTTP error)."""


class ChecksumError(ModelZooError):
    """A downloaded file whose sha256 differs from the expected one."""


def sha256sum(path: str) -> str:
    """Hex sha256 of the file at ``path``, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(_CHUNK), b''):
            h.update(chunk)
    return h.hexdigest()


def hash_from_filename(filename: str) -> Optional[str]:
    """Hash prefix of an mmdet-style checkpoint name (``x_20200130-047c8118.pth``), or None."""
    m = _HASH_RE.search(osp.basename(filename))
    return m.group(1) if m else None


def model_name_from_filename(filename: str) -> Optional[str]:
    """``<name>`` of a published ``<name>_<YYYYMMDD>-<hash>.pth``, or None for other names."""
    m = re.fullmatch(r'(.+)_\d{8}-[0-9a-f]{8,64}\.pth', osp.basename(filename))
    return m.group(1) if m else None


def published_name(config: str, sha256: str, date: str) -> str:
    """``<config name>_<YYYYMMDD>-<sha256[:8]>.pth``; ``config`` may be a path or end with .py."""
    name = osp.splitext(osp.basename(config))[0] if config.endswith('.py') else config
    if not name or re.search(r'[\s/\\]', name):
        raise ModelZooError(f'config name {config!r} must be a file name without spaces')
    if not re.fullmatch(r'\d{8}', date):
        raise ModelZooError(f'date {date!r} must be YYYYMMDD')
    return f'{name}_{date}-{sha256[:8]}.pth'


def find_training_log(path: str) -> str:
    """The json scalars log of a run: ``path`` itself if a file, else the one ``vis_data/*.json``.

    Args:
        path: a log file, a run's timestamp folder or its work dir (searched recursively).

    Raises:
        ModelZooError: when the folder holds no log or several runs' logs (pass the file).
    """
    if osp.isfile(path):
        return path
    if not osp.isdir(path):
        raise ModelZooError(f'training log not found: {path}')
    found = sorted(set(glob.glob(osp.join(path, 'scalars.json'))
                       + glob.glob(osp.join(path, '**', 'vis_data', 'scalars.json'),
                                   recursive=True)))
    if len(found) != 1:
        what = 'no vis_data/scalars.json' if not found else f'{len(found)} runs: {found}'
        raise ModelZooError(f'{path} holds {what}; pass the log file itself with --log')
    return found[0]


def _check_json_lines(path: str) -> None:
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if line.strip():
                try:
                    json.loads(line)
                except ValueError as e:
                    raise ModelZooError(f'{path}, line {i}: not a json scalars log ({e})')


def publish_checkpoint(in_file: str, out_dir: str, config: str, fp16: bool = False,
                       log: Optional[str] = None, date: Optional[str] = None,
                       save_keys: Sequence[str] = ('meta', 'state_dict')) -> Dict:
    """Write the published form of a training checkpoint (and its log) into ``out_dir``.

    Args:
        in_file: checkpoint written by mmengine's runner (trusted: it is fully unpickled).
        out_dir: output folder (created).
        config: config name (or path) the file is named after.
        fp16: store the floating tensors of ``state_dict`` as float16.
        log: training log to copy as ``<name>_<date>.log.json`` (see :func:`find_training_log`).
        date: ``YYYYMMDD`` of the file names; today (local time) by default.
        save_keys: top-level keys kept; every other key is dropped and listed in the result.

    Returns:
        dict with ``checkpoint`` (path), ``sha256``, ``dropped`` (keys) and ``log`` (path or None).
    """
    import torch
    log_src = None
    if log is not None:  # checked first: a bad log publishes nothing
        log_src = find_training_log(log)
        _check_json_lines(log_src)
    ckpt = torch.load(in_file, map_location='cpu', weights_only=False)
    if not isinstance(ckpt, dict) or 'state_dict' not in ckpt:
        keys = list(ckpt) if isinstance(ckpt, dict) else type(ckpt).__name__
        raise ModelZooError(f'{in_file} is not an mmengine checkpoint: no state_dict ({keys})')
    dropped = [k for k in ckpt if k not in save_keys]
    out = {k: ckpt[k] for k in save_keys if k in ckpt}
    if fp16:
        out['state_dict'] = {k: v.half() if torch.is_tensor(v) and v.is_floating_point() else v
                             for k, v in out['state_dict'].items()}
    buf = io.BytesIO()
    torch.save(out, buf)
    data = buf.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    date = date or datetime.date.today().strftime('%Y%m%d')
    os.makedirs(out_dir, exist_ok=True)
    path = osp.join(out_dir, published_name(config, sha, date))
    with open(path + '.tmp', 'wb') as f:
        f.write(data)
    os.replace(path + '.tmp', path)
    log_out = None
    if log_src is not None:
        log_out = path[:-len(_HASH_RE.search(path).group(0))] + '.log.json'
        shutil.copyfile(log_src, log_out)
    return dict(checkpoint=path, sha256=sha, dropped=dropped, log=log_out)


@dataclass
class ModelEntry:
    """One model of the index: its metafile entry, collection and where they were read."""
    name: str
    data: Dict
    collection: Dict
    metafile: str
    root: str  # folder of model-index.yml: Config paths are relative to it
    metadata: Dict = field(init=False)

    def __post_init__(self):
        self.metadata = dict(self.collection.get('Metadata') or {})
        self.metadata.update(self.data.get('Metadata') or {})

    @property
    def config(self) -> str:
        """The ``Config`` as written (relative to the index folder)."""
        return self.data['Config']

    @property
    def config_path(self) -> str:
        return osp.join(self.root, self.data['Config'])

    @property
    def weights(self) -> Optional[str]:
        return self.data.get('Weights')

    @property
    def sha256(self) -> Optional[str]:
        return self.data.get('Weights SHA256')

    def shipped(self, url: Optional[str]) -> Optional[str]:
        """The copy of ``url``'s file that ships with this project, ``<index folder>/checkpoints/
        <config folder>/<file name>``, when it exists, else None."""
        if not url:
            return None
        name = osp.basename(urllib.parse.unquote(urllib.parse.urlsplit(url).path))
        path = osp.join(self.root, 'checkpoints', osp.basename(osp.dirname(self.config)), name)
        return path if name and osp.isfile(path) else None

    @property
    def mirror(self) -> Optional[str]:
        """The shipped copy of the weights (checked against the sha256 like any download)."""
        return self.shipped(self.weights)


def default_model_index() -> str:
    """``model-index.yml`` of the repository, else of the installed package's ``.mim/``."""
    for path in (osp.join(osp.dirname(PKG_DIR), 'model-index.yml'),
                 osp.join(PKG_DIR, '.mim', 'model-index.yml')):
        if osp.isfile(path):
            return path
    raise ModelZooError(f'no model-index.yml next to {PKG_DIR} nor in its .mim/ folder')


def _read_yaml(path: str) -> Dict:
    import yaml
    if not osp.isfile(path):
        raise ModelZooError(f'metafile not found: {path}')
    with open(path) as f:
        return yaml.safe_load(f) or {}


def load_model_index(index_file: Optional[str] = None) -> List[ModelEntry]:
    """Every model of ``index_file`` (default :func:`default_model_index`), in index order."""
    index_file = osp.abspath(index_file or default_model_index())
    root = osp.dirname(index_file)
    index = _read_yaml(index_file)
    docs = [(index_file, index)] + [(p, _read_yaml(p)) for p in
                                    (osp.join(root, i) for i in index.get('Import') or [])]
    collections = {c['Name']: c for _, d in docs for c in d.get('Collections') or []}
    models, seen = [], {}
    for path, doc in docs:
        for m in doc.get('Models') or []:
            name = m.get('Name')
            if not name or 'Config' not in m:
                raise ModelZooError(f'{path}: a model needs Name and Config, got {m}')
            if name in seen:
                raise ModelZooError(f'model {name!r} listed twice: {seen[name]} and {path}')
            coll = m.get('In Collection')
            if coll is not None and coll not in collections:
                raise ModelZooError(f'{path}: model {name!r} is In Collection {coll!r}, which no '
                                    f'metafile defines (known: {sorted(collections)})')
            seen[name] = path
            models.append(ModelEntry(name, m, collections.get(coll, {}), path, root))
    return models


def find_model(name: str, index_file: Optional[str] = None) -> ModelEntry:
    """The model called ``name`` (a ``.py`` suffix is ignored), or an error with close names."""
    name = name[:-3] if name.endswith('.py') else name
    models = load_model_index(index_file)
    for m in models:
        if m.name == name:
            return m
    names = [m.name for m in models]
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f'; did you mean {close}?' if close else f'; known models: {names}'
    raise ModelZooError(f'no model named {name!r} in the metafiles{hint}')


def verify_sha256(path: str, expected: str) -> str:
    """Check ``path`` against a full sha256 or a prefix of one; remove it on mismatch.

    Returns:
        The file's full sha256.
    """
    actual = sha256sum(path)
    expected = expected.lower()
    if not actual.startswith(expected):
        os.remove(path)
        raise ChecksumError(f'sha256 mismatch for {path}: expected {expected}, got {actual}; '
                            'the file was removed')
    return actual


def _local_source(url: str) -> Optional[str]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == 'file':
        return urllib.request.url2pathname(parts.path)
    return url if not parts.scheme or osp.exists(url) else None


def _open(url: str, offset: int, timeout: float):
    """(stream, bytes already valid in the .part, total size or None) for reading from offset."""
    local = _local_source(url)
    if local is not None:
        if not osp.isfile(local):
            raise ModelZooError(f'checkpoint not found: {local}')
        total = osp.getsize(local)
        f = open(local, 'rb')
        offset = offset if offset <= total else 0
        f.seek(offset)
        return f, offset, total
    headers = {'Range': f'bytes={offset}-'} if offset else {}
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                      timeout=timeout)
    except urllib.error.HTTPError as e:
        e.close()
        if e.code == 416 and offset:  # nothing from offset on: complete, or a stale .part
            m = re.fullmatch(r'bytes \*/(\d+)', e.headers.get('Content-Range', ''))
            if m and int(m.group(1)) == offset:
                return io.BytesIO(), offset, offset
            return _open(url, 0, timeout)
        raise ModelZooError(f'{url}: HTTP {e.code} {e.reason}') from e
    except urllib.error.URLError as e:
        raise ModelZooError(f'{url}: {e.reason}') from e
    except (ConnectionError, TimeoutError) as e:
        raise ModelZooError(f'{url}: {e!r}') from e
    length = resp.headers.get('Content-Length')
    if offset and resp.status == 206:
        m = re.fullmatch(r'bytes (\d+)-(\d+)/(\d+|\*)', resp.headers.get('Content-Range', ''))
        if m and int(m.group(1)) == offset:
            total = None if m.group(3) == '*' else int(m.group(3))
            return resp, offset, total
        resp.close()  # a range we did not ask for: start over
        return _open(url, 0, timeout)
    if resp.status not in (200, 206):
        raise ModelZooError(f'{url}: unexpected HTTP status {resp.status}')
    return resp, 0, int(length) if length is not None else None  # 200: restart from byte 0


def download(url: str, dest_dir: str, sha256: Optional[str] = None, progress: bool = True,
             timeout: float = 60.0) -> str:
    """Download ``url`` into ``dest_dir``, resuming ``<file>.part``, and verify its sha256.

    Args:
        url: ``http(s)://``, ``file://`` URL or local path.
        dest_dir: output folder (created).
        sha256: expected full hash (or prefix); default the 8-hex prefix of the file name.
        progress: show a tqdm progress bar on stderr.
        timeout: socket timeout in seconds.

    Returns:
        Path of the verified file. A complete file already there is verified and kept.

    Raises:
        ChecksumError: the hash differs (the file is removed).
        ModelZooError: HTTP errors, a missing source, a truncated transfer (the ``.part`` is
            kept for the next attempt to resume).
    """
    name = osp.basename(urllib.parse.unquote(urllib.parse.urlsplit(url).path))
    if not name:
        raise ModelZooError(f'{url}: no file name in the URL')
    expected = sha256 or hash_from_filename(name)
    os.makedirs(dest_dir, exist_ok=True)
    path = osp.join(dest_dir, name)
    if osp.isfile(path):
        if expected is None:
            print(f'warning: {path} is there already and has no sha256 to be checked against')
            return path
        try:
            verify_sha256(path, expected)
            return path
        except ChecksumError as e:
            print(f'{e}; downloading it again')
    part = path + '.part'
    have = osp.getsize(part) if osp.isfile(part) else 0
    src, start, total = _open(url, have, timeout)
    from tqdm import tqdm
    with src, open(part, 'ab' if start else 'wb') as out, tqdm(
            total=total, initial=start, unit='B', unit_scale=True, unit_divisor=1024,
            desc=name, disable=not progress) as bar:
        try:
            for chunk in iter(lambda: src.read(_CHUNK), b''):
                out.write(chunk)
                bar.update(len(chunk))
        except (http.client.HTTPException, ConnectionError, TimeoutError) as e:
            raise ModelZooError(f'{url}: download interrupted ({e!r}); run again to resume '
                                f'{part}') from e
    size = osp.getsize(part)
    if total is not None and size != total:
        raise ModelZooError(f'{url}: got {size} of {total} bytes; run again to resume {part}')
    if expected is None:
        print(f'warning: no sha256 to check {name} against (no Weights SHA256, no hash in the '
              'file name)')
    else:
        verify_sha256(part, expected)
    os.replace(part, path)
    return path
