"""Backbone pretraining on canonical-scale object crops, and fine-tuning a detector from it."""
import json
import math
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmdet_scalenorm.apis.backbone_pretrain import (_square_crop, crop_window, object_crops,
                                                    pretrain_backbone)
from mmdet_scalenorm.utils.config import set_pretrained_backbone
from tests._tiny_config import REPO

BASELINE = osp.join(REPO, 'configs', 'synthetic', 'faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py')
ISN = osp.join(REPO, 'configs', 'synthetic', 'isn-faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py')


def test_crop_window_is_a_square_of_context_times_the_long_side_on_the_box_centre():
    # box x 10..40, y 20..30: centre (25, 25), long side 30 -> side 45, corner floor(2.5) = 2
    assert crop_window((10, 20, 30, 10), 1.5) == (2, 2, 45)
    # context 1: side ceil(7.2) = 8 around the centre (4.1, 2.0): corner (floor 0.1, floor -2)
    assert crop_window((0.5, 0.5, 7.2, 3.0), 1.0) == (0, -2, 8)


def test_square_crop_pads_outside_the_image_with_its_mean_colour():
    img = np.zeros((4, 6, 3), np.uint8)
    img[:, :3] = 90  # mean colour 45
    out = _square_crop(img, -2, 1, 4)
    assert out.shape == (4, 4, 3)
    assert (out[:, :2] == 45).all()          # left of the image
    assert (out[:3, 2:] == 90).all()         # image columns 0-1, rows 1-3
    assert (out[3:] == 45).all()             # below the image


def test_object_crops_keeps_the_objects_of_at_least_min_size(synthetic_tiny):
    coco = json.load(open(synthetic_tiny['train_ann']))
    cats = sorted(c['id'] for c in coco['categories'])
    big = [a for a in coco['annotations'] if math.sqrt(a['bbox'][2] * a['bbox'][3]) >= 20]
    assert big, 'the tiny preset has objects of 20 px and more'
    crops, labels = object_crops(synthetic_tiny['train_ann'], synthetic_tiny['train_img'],
                                 min_size=20, load_size=40, progress=False)
    assert crops.shape == (len(big), 40, 40, 3) and crops.dtype == np.uint8
    order = sorted(big, key=lambda a: (a['image_id'], a['id']))
    assert labels.tolist() == [cats.index(a['category_id']) for a in order]
    with pytest.raises(ValueError, match='no object of'):
        object_crops(synthetic_tiny['train_ann'], synthetic_tiny['train_img'], min_size=1e4,
                     progress=False)
    with pytest.raises(ValueError, match='context >= 1'):
        object_crops(synthetic_tiny['train_ann'], synthetic_tiny['train_img'], context=0.5)


def test_pretrained_backbone_is_what_the_detector_starts_from(tmp_path):
    """The saved state_dict loads into the detector's backbone key for key through
    set_pretrained_backbone's init_cfg; the recipe freezes the stem, stage 1 and BN stats."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(ISN)
    rng = np.random.default_rng(0)
    data = (rng.integers(0, 255, (12, 40, 40, 3), dtype=np.uint8), np.arange(12) % 5)
    out = tmp_path / 'bb.pth'
    info = pretrain_backbone(dict(cfg.model.backbone, init_cfg=None), data, data, str(out),
                             num_classes=5, iters=2, batch_size=4, crop_size=32,
                             progress=False)
    assert info['num_train'] == 12 and info['num_val'] == 12 and info['iters'] == 2
    saved = torch.load(out)['state_dict']
    set_pretrained_backbone(cfg, str(out))
    bb = cfg.model.backbone
    assert bb.init_cfg == dict(type='Pretrained', checkpoint=str(out))
    assert bb.frozen_stages == 1 and bb.norm_eval is True
    model = MODELS.build(cfg.model)
    model.init_weights()
    own = model.backbone.state_dict()
    assert set(saved) == set(own)
    assert all(torch.equal(saved[k], own[k]) for k in saved)
    assert not any(p.requires_grad for p in model.backbone.layer1.parameters())
    assert all(p.requires_grad for p in model.backbone.layer2.parameters())


def test_set_pretrained_backbone_refuses_a_missing_file_and_bad_frozen_stages(tmp_path):
    cfg = Config.fromfile(BASELINE)
    with pytest.raises(FileNotFoundError, match='no backbone checkpoint'):
        set_pretrained_backbone(cfg, str(tmp_path / 'missing.pth'))
    assert cfg.model.backbone.get('init_cfg') is None  # nothing was changed
    f = tmp_path / 'x.pth'
    f.write_bytes(b'')
    for bad in (5, -2, True, 1.0):
        with pytest.raises(ValueError, match='frozen_stages must be an int in'):
            set_pretrained_backbone(cfg, str(f), frozen_stages=bad)


def test_compare_methods_pre_rows_need_the_pretrained_file(tmp_path):
    sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))
    try:
        import compare_methods as cm
    finally:
        sys.path.pop(0)
    with pytest.raises(SystemExit):
        cm.parse_args(['--methods', 'isn-pre'])
    with pytest.raises(SystemExit):
        cm.parse_args(['--methods', 'baseline-pre', '--pretrained', str(tmp_path / 'no.pth')])
    f = tmp_path / 'bb.pth'
    f.write_bytes(b'')
    assert cm.parse_args(['--methods', 'isn-pre', '--pretrained', str(f)]).methods == ['isn-pre']
    assert cm.parse_args(['--methods', 'isn-pre', '--report-only']).methods == ['isn-pre']
    # every *-pre row is its from-scratch row with the same tests (ISN-pre and baseline-pre: also
    # the tuned 5-scale test)
    for name in ('baseline', 'mst', 'isn'):
        extra = [(cm.MS_ISN_COARSE64, 'coarse64')] if name in ('isn', 'baseline') else []
        assert cm.METHODS[f'{name}-pre'][3] == cm.METHODS[name][3] + extra
        assert cm.METHODS[f'{name}-pre'][0] == cm.METHODS[name][0]


def test_pretrain_tool_refuses_the_reported_benchmark_and_writes_a_checkpoint(tmp_path):
    tool = [sys.executable, osp.join(REPO, 'tools', 'misc', 'pretrain_backbone.py'), BASELINE]
    r = subprocess.run(tool + [str(tmp_path / 'a.pth'), '--data-seed', '0'], cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode != 0 and 'reported benchmark' in r.stderr
    r = subprocess.run(tool + [str(tmp_path / 'b.pth'), '--preset', 'tiny', '--data-root',
                               str(tmp_path / 'held_out'), '--num-train', '6', '--num-val', '4',
                               '--min-size', '16', '--iters', '2', '--batch-size', '4',
                               '--crop-size', '32', '--no-progress'],
                       cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    meta = torch.load(tmp_path / 'b.pth')['meta']
    assert meta['data_seed'] == 2 and meta['preset'] == 'tiny' and meta['iters'] == 2
    assert 'val top-1' in r.stdout


@pytest.mark.parametrize('leaf', ['faster-rcnn_r18-tiny', 'isn-faster-rcnn_r18-tiny',
                                  'mask-rcnn_r18-tiny', 'ms-mask-rcnn_r18-tiny',
                                  'isn-mask-rcnn_r18-tiny', 'keypoint-rcnn_r18-tiny',
                                  'isn-keypoint-rcnn_r18-tiny'])
def test_pretrained_configs_are_their_scratch_config_with_set_pretrained_backbone(leaf):
    """The *-pre configs = the from-scratch leaf + set_pretrained_backbone(shipped checkpoint),
    the edit compare_methods.py's *-pre rows train (so a zoo checkpoint of such a row is the
    model of its config), and the checkpoint they name ships with the repository."""
    syn = osp.join(REPO, 'configs', 'synthetic')
    pre = Config.fromfile(osp.join(syn, f'{leaf}-pre_fpn_1xb4-1k_synthetic.py'))
    ckpt = pre.model.backbone.init_cfg.checkpoint
    assert osp.isfile(osp.join(REPO, ckpt))
    scratch = set_pretrained_backbone(
        Config.fromfile(osp.join(syn, f'{leaf}_fpn_1xb4-1k_synthetic.py')), osp.join(REPO, ckpt))
    scratch.model.backbone.init_cfg.checkpoint = ckpt
    assert pre.model == scratch.model
    assert pre.train_dataloader == scratch.train_dataloader
    assert {k: v for k, v in pre.to_dict().items() if k != 'pretrained_backbone'} == \
        scratch.to_dict()
    assert (pre.model.backbone.frozen_stages, pre.model.backbone.norm_eval) == (1, True)
    saved = torch.load(osp.join(REPO, ckpt))
    assert saved['meta']['data_seed'] == 2 and saved['meta']['val_top1'] > 0.9
