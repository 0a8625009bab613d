"""The synthetic ISN and MST configs (SNIPER epochs) train in a real mmengine Runner on generated
data: ChipDataset + ChipInfiniteSampler + ResizeToChipScale + MarkValidRange + SampleChip."""
import json
import glob
import os.path as osp

import pytest
import torch

from tests._tiny_config import REPO

CFGS = [osp.join(REPO, 'configs', 'synthetic', f'{m}_faster-rcnn_r18-tiny_fpn_1k_synthetic.py')
        for m in ('isn', 'mst')]


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
