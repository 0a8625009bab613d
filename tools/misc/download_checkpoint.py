"""Download a model-zoo checkpoint by its metafile name (or a URL), resume, verify its sha256.

NAME is a model ``Name`` of the metafiles that ``model-index.yml`` lists (the rows of
model_zoo.md); its ``Weights`` URL is downloaded into DEST with a progress bar. An interrupted
download resumes from ``<file>.part`` (HTTP ``Range``). The file is checked against the model's
``Weights SHA256``, else against the 8-hex prefix in its file name; a mismatch removes it. A URL,
a ``file://`` URL or a local path (a mirror) works too. A model whose checkpoint ships with this
project (``checkpoints/`` of the repository, or of the installed package's ``.mim/``) is copied
from there, offline, and verified the same way. At the end it prints the commands that test it.
The logic is ``mmdet_scalenorm.utils.model_zoo``.

Example::

    python tools/misc/download_checkpoint.py isn-faster-rcnn_r18-tiny_fpn_1xb4-2k_synthetic \\
        --dest work_dirs/checkpoints
"""
import argparse
import os.path as osp
import re
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('model', metavar='NAME|URL',
                   help='metafile model Name, or an http(s)/file URL or local path')
    p.add_argument('--dest', default=osp.join('work_dirs', 'checkpoints'),
                   help='download folder (default: work_dirs/checkpoints)')
    p.add_argument('--sha256', help='expected sha256 (or prefix) for a URL; overrides the '
                   'metafile')
    p.add_argument('--model-index', help='model-index.yml to search (default: the repository\'s, '
                   "else the installed package's .mim/model-index.yml)")
    p.add_argument('--no-progress', action='store_true')
    return p.parse_args(argv)


def _is_location(arg: str) -> bool:
    return bool(re.match(r'[a-z][a-z0-9+.-]*://', arg, re.I)) or osp.isfile(arg)


def _entry_for_file(url: str, index_file):
    """The metafile model a published file name belongs to, or None."""
    from mmdet_scalenorm.utils.model_zoo import (ModelZooError, find_model,
                                                 model_name_from_filename)
    name = model_name_from_filename(url.rstrip('/').rsplit('/', 1)[-1])
    try:
        return find_model(name, index_file) if name else None
    except ModelZooError:
        return None


def main(argv=None):
    args = parse_args(argv)
    from mmdet_scalenorm.utils.model_zoo import ModelZooError, download, find_model
    try:
        if _is_location(args.model):
            url, sha = args.model, args.sha256
            entry = _entry_for_file(url, args.model_index)
            if sha is None and entry is not None and entry.weights and \
                    osp.basename(entry.weights) == osp.basename(url):
                sha = entry.sha256
        else:
            entry = find_model(args.model, args.model_index)
            if not entry.weights:
                raise ModelZooError(
                    f'model {entry.name!r} has no published checkpoint (no Weights in '
                    f'{entry.metafile}): it is not trained yet. Train it with '
                    f'`python tools/train.py {entry.config}`')
            mirror = entry.mirror
            url, sha = mirror or entry.weights, args.sha256 or entry.sha256
            if mirror:
                print(f'from the local mirror {mirror} (its URL: {entry.weights})')
        path = download(url, args.dest, sha256=sha, progress=not args.no_progress)
    except ModelZooError as e:
        raise SystemExit(f'error: {e}')
    print(f'checkpoint: {path}')
    config, extra = 'CONFIG', ''
    if entry is not None:
        config = entry.config
        extra = f" {entry.metadata['Test Args']}" if entry.metadata.get('Test Args') else ''
    print('test it with:')
    print(f'  mim test mmdet_scalenorm {config} --checkpoint {path}{extra}')
    print(f'  python tools/test.py {config} {path}{extra}')
    return path


if __name__ == '__main__':
    main()
