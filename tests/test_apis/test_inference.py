"""``init_scalenorm_detector`` / ``inference_scalenorm``: multi-scale TTA inference on images."""
import os.path as osp

import mmcv
from mmcv.transforms import Compose
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample

from mmdet_scalenorm.apis import inference_scalenorm, init_scalenorm_detector
from mmdet_scalenorm.models.test_time_augs import ScaleNormTTAModel

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ISN_CFG = osp.join(REPO, 'configs', 'synthetic',
                   'isn-faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py')
SMALL = dict(model=dict(test_cfg=dict(rpn=dict(nms_pre=50, max_per_img=20),
                                      rcnn=dict(score_thr=0.0, max_per_img=20))))


@pytest.fixture(scope='module')
def tta_model():
    torch.manual_seed(0)
    return init_scalenorm_detector(ISN_CFG, None, device='cpu', cfg_options=SMALL)


def test_builds_tta_model_from_config(tta_model):
    assert isinstance(tta_model, ScaleNormTTAModel)
    assert tta_model.valid_range == (16.0, 560.0)
    assert not tta_model.training


def test_array_and_path_give_the_same_merged_result(tta_model, tmp_path):
    rng = np.random.RandomState(0)
    img = rng.randint(0, 255, (40, 56, 3), dtype=np.uint8)
    path = str(tmp_path / 'img.png')
    mmcv.imwrite(img, path)
    a = inference_scalenorm(tta_model, img)
    b, = inference_scalenorm(tta_model, [path])
    assert isinstance(a, DetDataSample)
    assert a.ori_shape == (40, 56)
    for k in ('bboxes', 'scores', 'labels'):
        assert torch.equal(a.pred_instances[k], b.pred_instances[k])
    p = a.pred_instances
    assert len(p) <= 100 and p.bboxes.shape[1:] == (4,)
    # every kept box is valid in at least one of the 5 views: 16 <= scale * f <= 560
    from mmdet_scalenorm.scale import box_scale
    s = box_scale(p.bboxes)
    ok = torch.zeros_like(s, dtype=torch.bool)
    for f in (4.0, 2.0, 1.0, 0.5, 0.25):
        ok |= (s * f >= 16 - 1e-3) & (s * f <= 560 + 1e-3)
    assert bool(ok.all())


def test_equals_manual_merge_of_the_views(tta_model):
    """The API runs each view through the detector and merges with the TTA model."""
    img = np.random.RandomState(1).randint(0, 255, (32, 48, 3), dtype=np.uint8)
    merged = inference_scalenorm(tta_model, img)
    from mmdet.apis import inference_detector
    views = []
    for f in (4.0, 2.0, 1.0, 0.5, 0.25):
        pipe = [dict(type='mmdet.LoadImageFromNDArray'),
                dict(type='Resize', scale_factor=f, keep_ratio=True),
                dict(type='RandomFlip', prob=0.),
                dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape',
                                                      'img_shape', 'scale_factor', 'flip',
                                                      'flip_direction'))]
        views.append(inference_detector(tta_model.module, img, test_pipeline=Compose(pipe)))
    manual = tta_model._merge_single_sample(views)
    assert len(manual.pred_instances) > 0  # the random model does detect something
    for k in ('bboxes', 'scores', 'labels'):
        assert torch.allclose(merged.pred_instances[k].float(), manual.pred_instances[k].float())


def test_without_tta_is_mmdet_inference(tmp_path):
    model = init_scalenorm_detector(ISN_CFG, None, tta=False, cfg_options=SMALL)
    assert not isinstance(model, ScaleNormTTAModel)
    img = np.zeros((32, 32, 3), dtype=np.uint8)
    assert isinstance(inference_scalenorm(model, img), DetDataSample)


def test_config_without_tta_raises():
    base = osp.join(REPO, 'configs', 'synthetic', 'faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py')
    with pytest.raises(ValueError, match='tta_model'):
        init_scalenorm_detector(base, None, tta=True)


def test_bad_image_type(tta_model):
    with pytest.raises(ValueError, match='paths or numpy arrays'):
        inference_scalenorm(tta_model, 3)
