"""KeypointRoIHead: the bbox (and mask) branch unchanged against StandardRoIHead, the keypoint loss
on the sampled positive RoIs against their assigned GT keypoints, keypoints for every detected box
in original pixels, and clear errors for keypoint-less or mis-sized GT."""
import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict

import mmdet_scalenorm  # noqa: F401
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox2roi, get_box_tensor
from mmdet.testing import demo_mm_inputs, demo_mm_proposals
from mmdet_scalenorm.models.roi_heads import KeypointRoIHead
from mmdet_scalenorm.models.roi_heads.keypoint_heads import rescale_keypoints

C, NC, K = 16, 3, 4
SHAPE = (3, 96, 128)


def roi_head_cfg(keypoint=None, mask=False):
    """A tiny Faster R-CNN-like R-CNN head (4 FPN levels of C channels)."""
    cfg = dict(
        type='StandardRoIHead',
        bbox_roi_extractor=dict(type='SingleRoIExtractor',
                                roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
                                out_channels=C, featmap_strides=[4, 8, 16, 32]),
        bbox_head=dict(type='Shared2FCBBoxHead', in_channels=C, fc_out_channels=32,
                       roi_feat_size=7, num_classes=NC,
                       bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                                       target_stds=[0.1, 0.1, 0.2, 0.2]),
                       reg_class_agnostic=False,
                       loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.),
                       loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                                     min_pos_iou=0.5, match_low_quality=True, ignore_iof_thr=-1),
                       sampler=dict(type='RandomSampler', num=64, pos_fraction=0.25,
                                    neg_pos_ub=-1, add_gt_as_proposals=True),
                       mask_size=28, pos_weight=-1, debug=False),
        test_cfg=dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5), max_per_img=20,
                      mask_thr_binary=0.5))
    if mask:
        cfg.update(
            mask_roi_extractor=dict(type='SingleRoIExtractor',
                                    roi_layer=dict(type='RoIAlign', output_size=14,
                                                   sampling_ratio=0),
                                    out_channels=C, featmap_strides=[4, 8, 16, 32]),
            mask_head=dict(type='FCNMaskHead', num_convs=1, in_channels=C, conv_out_channels=8,
                           num_classes=NC,
                           loss_mask=dict(type='CrossEntropyLoss', use_mask=True,
                                          loss_weight=1.0)))
    if keypoint is not None:
        size = 14 if keypoint == 'KeypointRCNNHead' else (22, 16)
        cfg.update(
            type='KeypointRoIHead',
            keypoint_roi_extractor=dict(type='SingleRoIExtractor',
                                        roi_layer=dict(type='RoIAlign', output_size=size,
                                                       sampling_ratio=0),
                                        out_channels=C, featmap_strides=[4, 8, 16, 32]),
            keypoint_head=dict(type=keypoint, num_keypoints=K, in_channels=C, num_convs=2,
                               conv_out_channels=8))
    return ConfigDict(cfg)


def build_pair(keypoint=None, mask=False):
    """StandardRoIHead and KeypointRoIHead with the same bbox/mask weights."""
    torch.manual_seed(0)
    base = MODELS.build(roi_head_cfg(mask=mask))
    ours_cfg = roi_head_cfg(keypoint, mask)
    ours_cfg['type'] = 'KeypointRoIHead'
    ours = MODELS.build(ours_cfg)
    missing, unexpected = ours.load_state_dict(base.state_dict(), strict=False)
    assert not unexpected and all(k.startswith('keypoint_') for k in missing)
    assert isinstance(ours, KeypointRoIHead) and ours.with_keypoint == (keypoint is not None)
    return base, ours


def make_batch(num_items=(3, 2), with_mask=False, keypoints=True, all_unlabelled=False):
    packed = demo_mm_inputs(batch_size=2, image_shapes=[SHAPE] * 2, num_items=list(num_items),
                            num_classes=NC, with_mask=with_mask)
    samples = packed['data_samples']
    rng = np.random.RandomState(1)
    for s in samples:
        boxes = get_box_tensor(s.gt_instances.bboxes).numpy()
        n = len(boxes)
        rel = rng.rand(n, K, 2)
        xy = boxes[:, None, :2] + rel * (boxes[:, None, 2:] - boxes[:, None, :2])
        v = np.zeros((n, K)) if all_unlabelled else rng.randint(0, 3, (n, K))
        kps = np.concatenate([xy * (v[..., None] > 0), v[..., None]], -1).astype(np.float32)
        if keypoints:
            s.gt_instances.keypoints = torch.from_numpy(kps)
    feats = tuple(torch.rand(2, C, SHAPE[1] // 2**i, SHAPE[2] // 2**i) for i in range(2, 6))
    return feats, samples


def proposals(num=80):
    return demo_mm_proposals([SHAPE] * 2, num)


def losses_of(head, feats, samples, seed=0):
    torch.manual_seed(seed)
    return head.loss(feats, proposals(), samples)


def test_keypoint_off_is_standard_roi_head():
    base, ours = build_pair(None)
    feats, samples = make_batch()
    want, got = losses_of(base, feats, samples), losses_of(ours, feats, samples)
    assert set(got) == set(want)
    for k in want:
        assert torch.equal(got[k], want[k]), k


@pytest.mark.parametrize('mask', [False, True])
def test_bbox_and_mask_losses_unchanged_with_keypoint_head_on(mask):
    base, ours = build_pair('KeypointRCNNHead', mask=mask)
    feats, samples = make_batch(with_mask=mask)
    want, got = losses_of(base, feats, samples), losses_of(ours, feats, samples)
    assert set(got) == set(want) | {'loss_keypoint'}
    for k in want:
        assert torch.equal(got[k], want[k]), k
    assert torch.isfinite(got['loss_keypoint']) and got['loss_keypoint'] > 0
    sum(got.values()).backward()
    assert ours.keypoint_head.deconv.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('kind', ['KeypointRCNNHead', 'ISNKeypointHead'])
def test_keypoint_loss_uses_positive_rois_and_their_assigned_gt(kind):
    _, ours = build_pair(kind)
    feats, samples = make_batch()
    captured = {}
    orig = ours.bbox_loss

    def spy(x, sampling_results):
        captured['res'] = sampling_results
        return orig(x, sampling_results)
    ours.bbox_loss = spy
    got = losses_of(ours, feats, samples)
    res = captured['res']
    assert sum(len(r.pos_priors) for r in res) > 0
    # recomputed by hand from the sampling results
    rois = bbox2roi([r.pos_priors for r in res])
    preds = ours.keypoint_head(ours.keypoint_roi_extractor(feats, rois))
    gt = torch.cat([s.gt_instances.keypoints[r.pos_assigned_gt_inds]
                    for s, r in zip(samples, res)])
    want = ours.keypoint_head.loss_and_target(preds, rois[:, 1:], gt)['loss_keypoint']
    assert want and set(want) <= set(got)
    for k in want:
        assert torch.allclose(got[k], want[k]), k
    # targets: labelled keypoints inside their positive RoI (borders included), nothing else
    targets = ours.keypoint_head.loss_and_target(preds, rois[:, 1:], gt)['keypoint_targets']
    valid = targets[1] if kind == 'KeypointRCNNHead' else targets['valid']
    b = rois[:, None, 1:]
    inside = (gt[..., 0] >= b[..., 0]) & (gt[..., 0] <= b[..., 2]) & \
        (gt[..., 1] >= b[..., 1]) & (gt[..., 1] <= b[..., 3])
    assert torch.equal(valid, inside & (gt[..., 2] > 0))
    assert valid.any()


def test_images_without_keypoints_or_positives_train_with_zero_keypoint_loss():
    _, ours = build_pair('KeypointRCNNHead')
    feats, samples = make_batch(all_unlabelled=True)  # all v = 0
    losses = losses_of(ours, feats, samples)
    assert losses['loss_keypoint'].item() == 0
    feats, samples = make_batch(num_items=(0, 0))  # no GT: no positive RoI anywhere
    losses = losses_of(ours, feats, samples)
    assert losses['loss_keypoint'].item() == 0
    assert all(torch.isfinite(v).all() for v in losses.values())
    sum(losses.values()).backward()
    assert ours.keypoint_head.deconv.weight.grad is not None


def test_missing_or_mis_sized_keypoints_are_errors():
    _, ours = build_pair('KeypointRCNNHead')
    feats, samples = make_batch(keypoints=False)
    with pytest.raises(ValueError, match=r'img_id=0 .*LoadAnnotationsWithKeypoints.*'
                                         r'PackScaleNormInputs'):
        losses_of(ours, feats, samples)
    feats, samples = make_batch()
    samples[1].gt_instances.keypoints = torch.zeros(2, K + 1, 3)
    with pytest.raises(ValueError, match=r'img_id=1 .*\(2, 5, 3\).*num_keypoints=4'):
        losses_of(ours, feats, samples)
    cfg = roi_head_cfg('ISNKeypointHead')
    cfg['keypoint_roi_extractor']['roi_layer']['output_size'] = 14
    with pytest.raises(ValueError, match=r'roi_feat_size=\(22, 16\)'):
        MODELS.build(cfg)
    cfg = roi_head_cfg('ISNKeypointHead')
    cfg['keypoint_roi_extractor'] = None
    with pytest.raises(ValueError, match='keypoint_roi_extractor'):
        MODELS.build(cfg)


@pytest.mark.parametrize('mask', [False, True])
def test_predict_keypoints_per_box_in_original_pixels(mask):
    base, ours = build_pair('KeypointRCNNHead', mask=mask)
    ours.eval(), base.eval()
    feats, samples = make_batch(with_mask=mask)
    with torch.no_grad():
        want = base.predict(feats, proposals(), samples, rescale=True)
        got = ours.predict(feats, proposals(), samples, rescale=True)
        cur = ours.predict(feats, proposals(), samples, rescale=False)
    for w, g, c, s in zip(want, got, cur, samples):
        n = len(w.bboxes)
        assert n > 0 and g.keypoints.shape == (n, K, 3) and g.keypoints.dtype == torch.float32
        assert torch.allclose(g.bboxes, w.bboxes, atol=1e-4)
        assert torch.equal(g.labels, w.labels) and torch.allclose(g.scores, w.scores)
        if mask:
            assert torch.equal(g.masks, w.masks)
        # keypoints decoded from the current-pixel boxes, then / scale_factor (1.1, 1.2)
        rois = torch.cat([c.bboxes.new_full((len(c.bboxes), 1), s.img_id), c.bboxes], 1)
        with torch.no_grad():
            preds = ours.keypoint_head(ours.keypoint_roi_extractor(feats, rois))
        assert torch.allclose(c.keypoints, ours.keypoint_head.decode(preds, c.bboxes))
        assert torch.allclose(g.keypoints, rescale_keypoints(c.keypoints, s.scale_factor))
        assert torch.allclose(g.keypoints[..., 0], c.keypoints[..., 0] / 1.1)


def test_predict_without_detections_and_forward_tensor_mode():
    _, ours = build_pair('ISNKeypointHead')
    ours.eval()
    feats, samples = make_batch()
    empty = proposals(0)
    with torch.no_grad():
        res = ours.predict(feats, empty, samples, rescale=True)
        assert all(r.keypoints.shape == (0, K, 3) and len(r.bboxes) == 0 for r in res)
        out = ours.forward(feats, proposals())
    assert len(out) == 3 and out[2].shape == (100, 3 * K, 22, 16)


def test_isn_head_with_valid_range_sampling_trains():
    cfg = roi_head_cfg('ISNKeypointHead', mask=True)
    cfg['train_cfg']['sampler'].update(type='ValidRangeSampler')
    head = MODELS.build(cfg)
    feats, samples = make_batch(with_mask=True)
    for s in samples:
        s.set_metainfo(dict(valid_range=(0.0, 200.0)))
    losses = losses_of(head, feats, samples)
    assert {'loss_cls', 'loss_bbox', 'loss_mask', 'loss_kpt_heatmap', 'loss_kpt_offset'} <= \
        set(losses)
    assert all(torch.isfinite(v).all() for v in losses.values())
    assert losses['loss_kpt_heatmap'] > 0
    sum(losses.values()).backward()
    assert head.keypoint_head.predictor.weight.grad.abs().sum() > 0
