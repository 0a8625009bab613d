"""The synthetic dataset base configs agree with the generator and build with mmdet."""
import os.path as osp

import pytest
from mmengine.config import Config

from mmdet_scalenorm.datasets.synthetic import SYNTHETIC_METAINFO

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFGS = [osp.join(REPO, 'configs', '_base_', 'datasets', n)
        for n in ('synthetic_detection.py', 'synthetic_instance.py')]


@pytest.mark.parametrize('path', CFGS)
def test_metainfo_equals_package(path):
    cfg = Config.fromfile(path)
    assert tuple(cfg.metainfo['classes']) == tuple(SYNTHETIC_METAINFO['classes'])
    assert [tuple(c) for c in cfg.metainfo['palette']] == \
        [tuple(c) for c in SYNTHETIC_METAINFO['palette']]
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].dataset.metainfo == cfg.metainfo
    assert cfg.data_root == 'data/synthetic/'


@pytest.mark.parametrize('path,with_mask,metrics', [(CFGS[0], False, ['bbox']),
                                                     (CFGS[1], True, ['bbox', 'segm'])])
def test_dataset_and_evaluator_build_on_tiny(path, with_mask, metrics, synthetic_tiny):
    import mmdet_scalenorm  # noqa: F401  (registers modules)
    from mmdet.registry import DATASETS, METRICS
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(path)
    root = synthetic_tiny['data_root'] + '/'
    for loader, n in (('train_dataloader', 6), ('val_dataloader', 4)):
        ds_cfg = cfg[loader].dataset
        ds_cfg.data_root = root
        ds = DATASETS.build(ds_cfg)
        assert ds.metainfo['classes'] == SYNTHETIC_METAINFO['classes']
        assert len(ds) == n
        item = ds[0]
        inst = item['data_samples'].gt_instances
        assert len(inst) > 0
        assert ('masks' in inst) == with_mask
        info = ds.get_data_info(0)  # Resize factor 1: the image at its own size
        assert tuple(item['inputs'].shape[1:]) == (info['height'], info['width'])
    ev = dict(cfg.val_evaluator)
    ev['ann_file'] = synthetic_tiny['val_ann']
    metric = METRICS.build(ev)
    assert list(metric.metrics) == metrics


def test_instance_baseline_trains_with_masks(tmp_path, synthetic_tiny):
    """The single-scale Mask R-CNN baseline of the instance comparison trains (loss_mask finite)."""
    import glob
    import json
    import math
    from mmdet.utils import register_all_modules
    from mmdet_scalenorm.apis.experiment import load_experiment_config, set_iterations, train
    register_all_modules()
    cfg = load_experiment_config(
        osp.join(REPO, 'configs', 'synthetic', 'mask-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py'),
        synthetic_tiny['data_root'], str(tmp_path / 'work'), workers=0, batch_size=2)
    cfg.default_hooks.logger.interval = 1
    set_iterations(cfg, 2)
    assert osp.isfile(train(cfg))
    rows = [json.loads(line) for f in glob.glob(str(tmp_path / 'work' / '*' / 'vis_data' /
                                                    'scalars.json'))
            for line in open(f) if 'loss_mask' in line]
    assert [r['iter'] for r in rows] == [1, 2] and all(math.isfinite(r['loss_mask'])
                                                      for r in rows)


@pytest.mark.parametrize('method', ['', 'isn-'])
def test_2k_configs_are_the_1k_ones_stretched_by_set_iterations(method):
    """The published 2k-iteration models' configs equal what compare_methods.py --iters 2000
    trains: the 1k config through set_iterations (warm-up 200, LR steps at 1600 and 1850)."""
    from mmdet_scalenorm.apis.experiment import set_iterations
    syn = osp.join(REPO, 'configs', 'synthetic')
    one = Config.fromfile(osp.join(syn, f'{method}faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py'))
    two = Config.fromfile(osp.join(syn, f'{method}faster-rcnn_r18-tiny_fpn_1xb4-2k_synthetic.py'))
    stretched = set_iterations(one, 2000)
    stretched.train_cfg.val_interval = 2000
    two_dict = {k: v for k, v in two.to_dict().items() if not k.endswith('_2k')}
    assert two_dict == stretched.to_dict()
    assert two.param_scheduler[0]['end'] == 200
    assert two.param_scheduler[1]['milestones'] == [1600, 1850]
