"""The synthetic ISN and MS configs (SNIPER epochs; Faster and Mask R-CNN) train in a real mmengine
Runner on generated data: ChipDataset + ChipInfiniteSampler + ResizeToChipScale + SampleChip."""
import json
import glob
import os.path as osp

import pytest
import torch

from tests._tiny_config import REPO

CFGS = [osp.join(REPO, 'configs', 'synthetic', f'{m}-{model}_r18-tiny_fpn_1xb4-1k_synthetic.py')
        for m, model in (('isn', 'faster-rcnn'), ('ms', 'faster-rcnn'), ('ms', 'mask-rcnn'))]


@pytest.mark.parametrize('CFG', CFGS)
def test_chipdataset_config_trains(tmp_path, synthetic_tiny, CFG):
    from mmdet.utils import register_all_modules
    from mmdet_scalenorm.apis.experiment import load_experiment_config, set_iterations, train
    from mmdet_scalenorm.datasets import ChipDataset
    register_all_modules()
    cfg = load_experiment_config(CFG, synthetic_tiny['data_root'], str(tmp_path / 'work'),
                                 workers=0, batch_size=2)
    cfg.train_dataloader.dataset.cache_dir = str(tmp_path / 'cache')
    cfg.default_hooks.logger.interval = 1
    set_iterations(cfg, 3)
    ckpt = train(cfg)
    assert osp.isfile(ckpt)
    # the enumeration was cached to disk and covers (image, scale, chip) items
    assert glob.glob(str(tmp_path / 'cache' / '*'))
    ds = ChipDataset(**{k: v for k, v in cfg.train_dataloader.dataset.items() if k != 'type'})
    assert len(ds) > len(ds.dataset) and ds.cache_hit
    rows = [json.loads(line) for f in glob.glob(str(tmp_path / 'work' / '*' / 'vis_data' /
                                                    'scalars.json'))
            for line in open(f) if 'loss' in line]
    assert [r['iter'] for r in rows] == [1, 2, 3]
    assert all(torch.isfinite(torch.tensor(r['loss'])) for r in rows)


def test_packer_dropping_the_range_fails_at_the_first_step(tmp_path, synthetic_tiny):
    """A broken ISN config: the R-CNN sampler takes its range from the images (as SNIP's does) but
    the pipeline packs with mmdet's default PackDetInputs, which drops ``valid_range``: training
    stops at its first step naming the key, instead of running with the range rule off."""
    from mmdet.utils import register_all_modules
    from mmdet_scalenorm.apis.experiment import load_experiment_config, set_iterations, train
    register_all_modules()
    cfg = load_experiment_config(CFGS[0], synthetic_tiny['data_root'], str(tmp_path / 'work'),
                                 workers=0, batch_size=2)
    cfg.train_dataloader.dataset.cache_dir = str(tmp_path / 'cache')
    assert cfg.train_dataloader.dataset.pipeline[-1].type == 'PackScaleNormInputs'
    cfg.train_dataloader.dataset.pipeline[-1] = dict(type='PackDetInputs')
    cfg.model.train_cfg.rcnn.sampler.pop('valid_range')
    set_iterations(cfg, 1)
    with pytest.raises(ValueError, match="no 'valid_range' metainfo"):
        train(cfg)
