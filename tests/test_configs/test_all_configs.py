"""Every shipped config loads, survives mmengine's dump/reload round trip (what the runner writes
to work_dir and what `mim` copies), and builds its model, data pipeline components and TTA model
from mmdet's registries."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from tests._tiny_config import REPO

CONFIGS = sorted(p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
                 if f'{osp.sep}_base_{osp.sep}' not in p)


def test_configs_found():
    names = {osp.relpath(p, osp.join(REPO, 'configs')) for p in CONFIGS}
    assert 'isn/isn-faster-rcnn_r50_fpn_18e_coco.py' in names
    assert 'synthetic/isn-faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py' in names


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_config_roundtrip_and_build(path, tmp_path):
    from mmdet.registry import MODELS, TRANSFORMS
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(path)
    assert cfg.custom_imports == dict(imports=['mmdet_scalenorm'], allow_failed_imports=False)
    dumped = tmp_path / 'dumped.py'
    cfg.dump(str(dumped))
    again = Config.fromfile(str(dumped))
    assert again.model == cfg.model
    assert again.train_dataloader == cfg.train_dataloader
    model_cfg = again.model
    model = MODELS.build(model_cfg)
    assert type(model).__name__ == model_cfg.type
    assert type(model.roi_head).__name__ == model_cfg.roi_head.get('type', 'StandardRoIHead')
    for t in again.train_dataloader.dataset.get('pipeline', []):
        TRANSFORMS.build(t)
    if 'tta_model' in again:
        tta = MODELS.build(dict(**again.tta_model, module=model_cfg))
        assert type(tta).__name__ == again.tta_model.type == 'ScaleNormTTAModel'
        assert type(tta.module).__name__ == model_cfg.type
        TRANSFORMS.build(again.tta_pipeline[-1])


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_pyramid_configs_test_with_the_range_they_train_with(path):
    """A pyramid config trained with one range in resized pixels (ISN [16, 560]; MS none: every
    object valid) tests with that same range: the range of the `--tta` test comes from the
    method base, so no leaf can pair MS training with the ISN test (or ISN with none)."""
    cfg = Config.fromfile(path)
    ds = cfg.train_dataloader.dataset
    if ds.get('type') != 'ChipDataset' or ds.get('reference') != 'resized':
        pytest.skip('not trained on chips with a range in resized pixels')
    assert tuple(cfg.tta_model.valid_range) == tuple(ds.valid_range)
    name = osp.basename(path)
    expected = (0, 'inf') if name.startswith('ms-') else (16, 560)
    assert tuple(ds.valid_range) == expected


def test_an_ms_leaf_without_a_tta_line_tests_with_no_range(tmp_path):
    """The MS method base overrides ISN's test range itself: a leaf that places only the MS
    training data tests every detection of every scale (formerly it had to restate the range)."""
    leaf = tmp_path / 'ms-leaf.py'
    base = osp.join(REPO, 'configs', '_base_')
    leaf.write_text(
        f"_base_ = [{osp.join(base, 'models', 'faster-rcnn_r18-tiny_fpn.py')!r},\n"
        f"          {osp.join(base, 'datasets', 'synthetic_detection_chips.py')!r},\n"
        f"          {osp.join(base, 'scale_norm', 'ms.py')!r}]\n"
        "train_dataloader = dict(dataset={{_base_.ms_chip_dataset}})\n")
    cfg = Config.fromfile(str(leaf))
    assert tuple(cfg.tta_model.valid_range) == (0, 'inf')
    assert tuple(cfg.train_dataloader.dataset.valid_range) == (0, 'inf')
    isn = Config.fromfile(osp.join(base, 'scale_norm', 'isn_keypoints.py'))
    assert tuple(isn.tta_model.valid_range) == (16, 560)
