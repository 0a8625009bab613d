"""ScaleNormRoIHead: StandardRoIHead's losses when no range applies, the image's ``valid_range``
metainfo handed to the sampler otherwise (SNIP §6.1), and the mask branch intact."""
import copy
import os.path as osp

import mmdet
import pytest
import torch
from mmengine.config import Config

from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs, demo_mm_proposals

import mmdet_scalenorm  # noqa: F401
from mmdet_scalenorm.models.roi_heads import ScaleNormRoIHead
from mmdet_scalenorm.scale import box_scale

MMDET_CONFIGS = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs')


def roi_head_cfg(fname, num_rois=64):
    model = Config.fromfile(osp.join(MMDET_CONFIGS, fname)).model
    cfg = copy.deepcopy(model.roi_head)
    cfg.update(train_cfg=model.train_cfg.rcnn, test_cfg=model.test_cfg.rcnn)
    cfg.train_cfg.sampler.num = num_rois
    cfg.bbox_head.num_classes = 4
    if 'mask_head' in cfg:
        cfg.mask_head.num_classes = 4
    return cfg


def make_batch(with_mask=False, ranges=(None, None)):
    packed = demo_mm_inputs(batch_size=2, image_shapes=[(3, 96, 128)] * 2, num_items=[3, 2],
                            num_classes=4, with_mask=with_mask)
    samples = packed['data_samples']
    for s, r in zip(samples, ranges):
        if r is not None:
            s.set_metainfo(dict(valid_range=r))
    feats = tuple(torch.rand(2, 256, 96 // 2**i, 128 // 2**i) for i in range(2, 7))
    return feats, samples


def proposals():
    return demo_mm_proposals([(3, 96, 128)] * 2, 80)


def losses_of(head, feats, samples, seed=0):
    torch.manual_seed(seed)
    return head.loss(feats, proposals(), samples)


def sampled(head, feats, samples, seed=0):
    """The sampling results the head computed (captured around bbox_loss)."""
    box = {}
    orig = head.bbox_loss

    def spy(x, sampling_results):
        box['res'] = sampling_results
        return orig(x, sampling_results)
    head.bbox_loss = spy
    losses_of(head, feats, samples, seed)
    return box['res']


@pytest.mark.parametrize('fname', ['faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
                                   'mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'])
def test_same_losses_as_standard_roi_head_without_range(fname):
    cfg = roi_head_cfg(fname)
    torch.manual_seed(0)
    base = MODELS.build(cfg)
    ours_cfg = copy.deepcopy(cfg)
    ours_cfg.update(type='ScaleNormRoIHead')
    # the rule switched off on purpose: an explicit unbounded range
    ours_cfg.train_cfg.sampler.update(type='ValidRangeSampler', valid_range=(0, 'inf'))
    ours = MODELS.build(ours_cfg)
    ours.load_state_dict(base.state_dict())
    assert isinstance(ours, ScaleNormRoIHead)
    feats, samples = make_batch(with_mask='mask' in fname)
    want, got = losses_of(base, feats, samples), losses_of(ours, feats, samples)
    assert set(got) == set(want) and ('loss_mask' in got) == ('mask' in fname)
    for k in want:
        assert torch.equal(got[k], want[k]), k
    assert all(torch.isfinite(v).all() for v in got.values())


def test_valid_range_metainfo_reaches_the_sampler_per_image():
    cfg = roi_head_cfg('faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py')
    cfg.update(type='ScaleNormRoIHead')
    cfg.train_cfg.sampler.update(type='ValidRangeSampler', valid_range=(0, 30))
    head = MODELS.build(cfg)
    calls = []
    orig = head.bbox_sampler.sample

    def spy(*args, valid_range=None, **kwargs):
        calls.append(valid_range)
        return orig(*args, valid_range=valid_range, **kwargs)
    head.bbox_sampler.sample = spy
    feats, samples = make_batch(ranges=((20.0, 60.0), None))
    res = sampled(head, feats, samples)
    assert calls == [(20.0, 60.0), None]
    # image 0 uses its metainfo range, image 1 the sampler's configured (0, 30)
    for r, (lo, hi) in zip(res, [(20, 60), (0, 30)]):
        s = box_scale(r.priors)
        assert s.numel() > 0 and ((s >= lo) & (s <= hi)).all()
    s0 = box_scale(demo_mm_proposals([(3, 96, 128)], 80)[0].bboxes)
    assert ((s0 < 20) | (s0 > 60)).any()  # the range really removed candidates


def test_sampler_without_valid_range_argument_is_called_as_standard_roi_head_does():
    cfg = roi_head_cfg('faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py')
    torch.manual_seed(0)
    base = MODELS.build(cfg)
    cfg.update(type='ScaleNormRoIHead')  # sampler stays RandomSampler
    ours = MODELS.build(cfg)
    ours.load_state_dict(base.state_dict())
    feats, samples = make_batch(ranges=((20.0, 60.0), (0.0, 10.0)))
    want, got = losses_of(base, feats, samples), losses_of(ours, feats, samples)
    for k in want:
        assert torch.equal(got[k], want[k]), k


def test_mask_branch_with_range_trains():
    cfg = roi_head_cfg('mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py')
    cfg.update(type='ScaleNormRoIHead')
    cfg.train_cfg.sampler.update(type='ValidRangeSampler', valid_range=(8, 200))
    head = MODELS.build(cfg)
    feats, samples = make_batch(with_mask=True, ranges=((16.0, 80.0), (8.0, 50.0)))
    losses = losses_of(head, feats, samples)
    assert {'loss_cls', 'loss_bbox', 'loss_mask'} <= set(losses)
    assert all(torch.isfinite(v).all() for v in losses.values())
    total = sum(v.sum() for v in losses.values())
    total.backward()
    assert head.mask_head.conv_logits.weight.grad is not None


def test_no_range_anywhere_is_an_error_not_a_silent_switch_off():
    """ValidRangeSampler without a configured range + an image without ``valid_range`` metainfo
    (a packer that dropped it): the first training step raises, naming the key and the fixes."""
    cfg = roi_head_cfg('faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py')
    cfg.update(type='ScaleNormRoIHead')
    cfg.train_cfg.sampler.update(type='ValidRangeSampler')  # range from the images (SNIP)
    head = MODELS.build(cfg)
    assert not head.bbox_sampler.range_configured
    feats, samples = make_batch(ranges=((20.0, 60.0), None))
    samples[1].set_metainfo(dict(img_id=7))
    with pytest.raises(ValueError, match=r"img_id=7.*'valid_range' metainfo.*PackScaleNormInputs"):
        losses_of(head, feats, samples)
    # with the range in every image's metainfo it trains
    feats, samples = make_batch(ranges=((20.0, 60.0), (0.0, 40.0)))
    assert all(torch.isfinite(v).all() for v in losses_of(head, feats, samples).values())
