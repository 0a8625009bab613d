"""Writes tiny training configs for the end-to-end tests (tools, mim, dist, resume, demo).

The config inherits the repository's real synthetic config by absolute path and only shrinks what
makes CPU runs slow (image size, RoIs, iterations), so the tests exercise the shipped configs.
"""
import os.path as osp

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
BASELINE = osp.join(REPO, 'configs', 'synthetic', 'faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py')


def write_tiny_config(path, data, base=BASELINE, max_iters=4, ckpt_interval=2, extra=''):
    """Write a config at ``path`` training ``max_iters`` iterations on the ``synthetic_tiny`` data."""
    root = osp.dirname(data['train_ann'])  # .../annotations
    root = osp.dirname(root) + '/'
    text = f'''
_base_ = [{base!r}]
data_root = {root!r}
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root))
val_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
train_cfg = dict(max_iters={max_iters}, val_interval=100000, val_begin=100000)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end={max_iters})]
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(by_epoch=False, interval={ckpt_interval}, max_keep_ckpts=-1))
randomness = dict(seed=0, deterministic=True)
{extra}
'''
    with open(path, 'w') as f:
        f.write(text)
    return path


def load_script(relpath):
    """Import a script of the repository (e.g. ``tools/misc/dump_proposals.py``) as a module."""
    import importlib.util
    name = osp.splitext(osp.basename(relpath))[0]
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, relpath))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
