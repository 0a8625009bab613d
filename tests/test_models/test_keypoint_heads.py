"""Keypoint heads: hand-computed cell / offset targets (Detectron2 rule, border included), the
Mask R-CNN spatial cross-entropy and ISN smooth-L1 losses on tiny cases, encode -> decode round
trips, rescaling to original pixels, and the layer layout of both heads (Mask R-CNN §3,
ISN §4.3.2)."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import mmdet_scalenorm  # noqa: F401
from mmdet.registry import MODELS
from mmdet_scalenorm.models.roi_heads import ISNKeypointHead, KeypointRCNNHead
from mmdet_scalenorm.models.roi_heads.keypoint_heads import keypoints_to_cells

K = 3


def rcnn_head(**kw):
    cfg = dict(type='KeypointRCNNHead', num_keypoints=K, in_channels=4, conv_out_channels=8)
    cfg.update(kw)
    return MODELS.build(cfg)


def isn_head(**kw):
    cfg = dict(type='ISNKeypointHead', num_keypoints=K, in_channels=4, conv_out_channels=8)
    cfg.update(kw)
    return MODELS.build(cfg)


def test_cell_rule_by_hand():
    rois = torch.tensor([[10., 20., 66., 76.]])  # 56x56 px: one pixel per 56x56 cell
    kps = torch.tensor([[[10., 20., 2.],     # top-left corner -> cell (0, 0)
                         [40.7, 25.2, 1.],   # u=30.7, v=5.2 -> (30, 5), v=1 counts
                         [66., 76., 2.]]])   # exactly on right/bottom border -> (55, 55)
    col, row, valid, uv = keypoints_to_cells(kps, rois, (56, 56))
    assert col.tolist() == [[0, 30, 55]] and row.tolist() == [[0, 5, 55]]
    assert valid.tolist() == [[True, True, True]]
    assert torch.allclose(uv[0, 1], torch.tensor([30.7, 5.2]), atol=1e-4)
    head = rcnn_head()
    idx, valid = head.get_targets(rois, kps)
    assert idx.tolist() == [[0, 5 * 56 + 30, 55 * 56 + 55]]
    # outside on the right, left of the box, and not labelled (v=0)
    kps = torch.tensor([[[66.01, 30., 2.], [9.99, 30., 2.], [30., 30., 0.]]])
    assert head.get_targets(rois, kps)[1].tolist() == [[False, False, False]]
    # non-square box: 0.5 cell per px in x, 2 cells per px in y
    idx, valid = head.get_targets(torch.tensor([[0., 0., 112., 28.]]),
                                  torch.tensor([[[50., 7., 2.]] * K]))
    assert idx[0, 0].item() == 14 * 56 + 25 and valid.all()


def test_isn_targets_by_hand():
    roi = torch.tensor([[0., 0., 32., 44.]])  # 22x16 cells of 2x2 px
    kps = torch.tensor([[[5.6, 9.2, 2.], [0., 0., 0.], [32., 44., 2.]]])
    t = isn_head(pos_radius=0).get_targets(roi, kps)
    assert t['valid'].tolist() == [[True, False, True]]
    hm = t['heatmap_target']
    assert hm.shape == (1, K, 22, 16)
    # keypoint 0: u = 2.8, v = 4.6 -> the cell (row 4, col 2), offset (0.3, 0.1) cells
    assert hm[0, 0].nonzero().tolist() == [[4, 2]]
    assert torch.allclose(t['offset_target'][0, 0, :, 4, 2], torch.tensor([0.3, 0.1]), atol=1e-5)
    assert t['offset_weight'][0, 0].sum() == 2 and t['offset_weight'][0, 0, :, 4, 2].all()
    # keypoint 2 on the bottom-right border -> last cell, offset +0.5
    assert hm[0, 2].nonzero().tolist() == [[21, 15]]
    assert torch.allclose(t['offset_target'][0, 2, :, 21, 15], torch.tensor([0.5, 0.5]))
    # keypoint 1 (v=0): no target anywhere, zero weight
    assert hm[0, 1].sum() == 0 and t['heatmap_weight'][0, 1].sum() == 0
    assert t['heatmap_weight'][0, 0].sum() == 22 * 16
    # radius one cell: centres (2.5, 4.5) d=0.32, (3.5, 4.5) d=0.71, (2.5, 5.5) d=0.95
    t = isn_head(pos_radius=1.0).get_targets(roi, kps)
    assert sorted(t['heatmap_target'][0, 0].nonzero().tolist()) == [[4, 2], [4, 3], [5, 2]]
    off = t['offset_target'][0, 0]
    assert torch.allclose(off[:, 4, 3], torch.tensor([-0.7, 0.1]), atol=1e-5)
    assert torch.allclose(off[:, 5, 2], torch.tensor([0.3, -0.9]), atol=1e-5)


def test_rcnn_loss_is_hand_computed_spatial_cross_entropy():
    head = rcnn_head(loss_keypoint=dict(type='CrossEntropyLoss', use_sigmoid=False,
                                        loss_weight=2.0))
    rois = torch.tensor([[0., 0., 56., 56.], [0., 0., 112., 112.]])
    kps = torch.tensor([[[3.5, 7.5, 2.], [10., 10., 0.], [100., 1., 2.]],   # 3rd outside
                        [[20., 40., 1.], [0., 0., 0.], [0., 0., 0.]]])
    preds = torch.zeros(2, K, 56, 56)
    preds[0, 0, 7, 3] = 2.0     # its target cell
    preds[1, 0, 20, 10] = 1.0   # target (10, 20); a different cell has a logit 3
    preds[1, 0, 0, 0] = 3.0
    # CE = logsumexp - logit(target); 3136 classes
    ce0 = math.log(3135 + math.e ** 2) - 2.0
    ce1 = math.log(3134 + math.e + math.e ** 3) - 1.0
    want = 2.0 * (ce0 + ce1) / 2  # two target keypoints in the batch
    out = head.loss_and_target(preds, rois, kps)
    assert out['keypoint_targets'][1].sum() == 2
    assert out['loss_keypoint']['loss_keypoint'].item() == pytest.approx(want, rel=1e-5)


def test_zero_target_keypoints_loss_is_zero_and_keeps_graph():
    for head in (rcnn_head(), isn_head()):
        h, w = head.roi_feat_size
        feats = torch.rand(2, 4, h, w, requires_grad=True)
        preds = head(feats)
        rois = torch.tensor([[0., 0., 50., 60.], [5., 5., 30., 40.]])
        kps = torch.zeros(2, K, 3)
        kps[0, 0] = torch.tensor([200., 200., 2.])  # labelled but outside its RoI
        losses = head.loss_and_target(preds, rois, kps)['loss_keypoint']
        total = sum(losses.values())
        assert torch.isfinite(total) and total.item() == 0
        total.backward()
        assert feats.grad is not None and torch.equal(feats.grad, torch.zeros_like(feats))
    # no RoI at all
    head = rcnn_head()
    preds = head(torch.rand(0, 4, 14, 14))
    loss = head.loss_and_target(preds, torch.zeros(0, 4), torch.zeros(0, K, 3))
    assert loss['loss_keypoint']['loss_keypoint'].item() == 0


def test_isn_loss_by_hand():
    head = isn_head(pos_radius=0)
    roi = torch.tensor([[0., 0., 32., 44.]])
    kps = torch.tensor([[[5.6, 9.2, 2.], [0., 0., 0.], [31., 43., 2.]]])
    preds = torch.zeros(1, 3 * K, 22, 16)
    losses = head.loss_and_target(preds, roi, kps)['loss_keypoint']
    # heatmap: one positive cell per target keypoint, smooth-L1(0 - 1, beta=1) = 0.5, per kp
    assert losses['loss_kpt_heatmap'].item() == pytest.approx(0.5, rel=1e-5)
    # offsets (0.3, 0.1) and (31/2 - 15.5, 43/2 - 21.5) = (0, 0): 0.5 * (0.09 + 0.01) / 2 cells
    assert losses['loss_kpt_offset'].item() == pytest.approx(0.025, rel=1e-4)
    # a perfect heatmap leaves the offset loss alone, and vice versa
    preds[0, 0, 4, 2] = 1.0
    preds[0, 2, 21, 15] = 1.0
    preds[0, K + 0, 4, 2], preds[0, K + 1, 4, 2] = 0.3, 0.1
    losses = head.loss_and_target(preds, roi, kps)['loss_keypoint']
    assert losses['loss_kpt_heatmap'].item() == pytest.approx(0, abs=1e-7)
    assert losses['loss_kpt_offset'].item() == pytest.approx(0, abs=1e-7)


def test_rcnn_decode_by_hand():
    head = rcnn_head()
    preds = torch.zeros(1, K, 56, 56)
    preds[0, :, 3, 7] = 5.0
    box = torch.tensor([[10., 20., 66., 76.]])  # 56 px: the map is not resized
    kps = head.predict_by_feat(preds, box, dict(scale_factor=(2.0, 0.5)), rescale=False)
    prob = math.e ** 5 / (3135 + math.e ** 5)
    assert torch.allclose(kps[0], torch.tensor([[17.5, 23.5, prob]] * K), atol=1e-4)
    orig = head.predict_by_feat(preds, box, dict(scale_factor=(2.0, 0.5)), rescale=True)
    assert torch.allclose(orig[0], torch.tensor([[8.75, 47.0, prob]] * K), atol=1e-4)
    assert head.predict_by_feat(preds[:0], box[:0], {}, rescale=True).shape == (0, K, 3)


boxes = st.tuples(st.floats(0, 300), st.floats(0, 300), st.floats(56, 400), st.floats(56, 400))
points = st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=K, max_size=K)


@settings(max_examples=15, deadline=None)
@given(box=boxes, rel=points)
def test_rcnn_round_trip_lands_in_the_encoded_cell(box, rel):
    """Encode -> one-hot logits -> decode: the point lies within half a cell of the centre of the
    cell it was encoded to (for boxes of at least 56 px, i.e. at least one pixel per cell)."""
    x1, y1, w, h = box
    roi = torch.tensor([[x1, y1, x1 + w, y1 + h]])
    kps = torch.tensor([[[x1 + a * w, y1 + b * h, 2.] for a, b in rel]])
    head = rcnn_head()
    idx, valid = head.get_targets(roi, kps)
    assert valid.all()
    preds = torch.zeros(1, K, 56 * 56)
    preds[0, torch.arange(K), idx[0]] = 10.0
    dec = head.decode(preds.view(1, K, 56, 56), roi)[0]
    cw, ch = (roi[0, 2] - roi[0, 0]) / 56, (roi[0, 3] - roi[0, 1]) / 56
    cx = roi[0, 0] + (idx[0] % 56 + 0.5) * cw
    cy = roi[0, 1] + (idx[0] // 56 + 0.5) * ch
    assert ((dec[:, 0] - cx).abs() <= cw / 2 + 1e-3).all()
    assert ((dec[:, 1] - cy).abs() <= ch / 2 + 1e-3).all()
    assert ((dec[:, 0] - kps[0, :, 0]).abs() <= cw + 1e-3).all()
    assert ((dec[:, 1] - kps[0, :, 1]).abs() <= ch + 1e-3).all()


@settings(max_examples=15, deadline=None)
@given(box=boxes, rel=points, radius=st.sampled_from([0.0, 1.0, 2.0]))
def test_isn_round_trip_is_exact(box, rel, radius):
    """Targets used as predictions decode back to the keypoint (offsets make it exact)."""
    x1, y1, w, h = box
    roi = torch.tensor([[x1, y1, x1 + w, y1 + h]])
    kps = torch.tensor([[[x1 + a * w, y1 + b * h, 2.] for a, b in rel]])
    head = isn_head(pos_radius=radius)
    t = head.get_targets(roi, kps)
    preds = torch.cat([t['heatmap_target'], t['offset_target'].flatten(1, 2)], dim=1)
    dec = head.decode(preds, roi)[0]
    cell = max(w / 16, h / 22)
    assert torch.allclose(dec[:, :2], kps[0, :, :2], atol=1e-4 * max(cell, 1) + 1e-3)
    assert (dec[:, 2] == 1).all()


def test_rcnn_head_layout_matches_mask_rcnn():
    head = KeypointRCNNHead(num_keypoints=17)  # defaults: 256 in, 8 x conv3x3 512, deconv, 2x
    convs = [m for m in head.modules() if type(m) is nn.Conv2d]
    assert len(convs) == 8
    assert all(c.kernel_size == (3, 3) and c.out_channels == 512 and c.padding == (1, 1)
               for c in convs)
    assert convs[0].in_channels == 256
    assert sum(isinstance(m, nn.ReLU) for m in head.modules()) == 8
    deconvs = [m for m in head.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert len(deconvs) == 1 and deconvs[0].kernel_size == (4, 4) and \
        deconvs[0].stride == (2, 2) and deconvs[0].out_channels == 17
    assert head.heatmap_size == (56, 56) and head.roi_feat_size == (14, 14)
    with torch.no_grad():
        assert head(torch.rand(2, 256, 14, 14)).shape == (2, 17, 56, 56)


def test_isn_head_layout_matches_isn_section_4_3_2():
    head = ISNKeypointHead(num_keypoints=17)
    convs3 = [m for m in head.modules() if type(m) is nn.Conv2d and m.kernel_size == (3, 3)]
    assert len(convs3) == 8 and all(c.out_channels == 256 for c in convs3)
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in head.modules())
    assert head.roi_feat_size == (22, 16)
    with torch.no_grad():
        out = head(torch.rand(2, 256, 22, 16))
    assert out.shape == (2, 3 * 17, 22, 16)
    hm, off = head.split_preds(out)
    assert hm.shape == (2, 17, 22, 16) and off.shape == (2, 17, 2, 22, 16)
    assert torch.equal(off[:, 4, 1], out[:, 17 + 2 * 4 + 1])


def test_isn_decode_by_hand_and_rescale():
    head = isn_head()
    preds = torch.zeros(1, 3 * K, 22, 16)
    preds[0, :K, 4, 2] = 0.8
    preds[0, K + 0, 4, 2], preds[0, K + 1, 4, 2] = 0.3, 0.1  # keypoint 0's offset
    box = torch.tensor([[10., 0., 42., 44.]])  # 2x2 px cells
    kps = head.predict_by_feat(preds, box, dict(scale_factor=(2.0, 4.0)), rescale=True)[0]
    # x = 10 + (2 + 0.5 + 0.3) * 2 = 15.6, y = (4 + 0.5 + 0.1) * 2 = 9.2, then / (2, 4)
    assert torch.allclose(kps[0], torch.tensor([7.8, 2.3, 0.8]), atol=1e-5)
    assert torch.allclose(kps[1], torch.tensor([7.5, 2.25, 0.8]), atol=1e-5)


def test_bad_gt_keypoints_are_errors():
    head = rcnn_head()
    with pytest.raises(ValueError, match='num_keypoints=3'):
        head.get_targets(torch.zeros(1, 4), torch.zeros(1, 5, 3))
    with pytest.raises(ValueError, match=r'\(num_rois, K, 3\)'):
        head.get_targets(torch.zeros(2, 4), torch.zeros(1, K, 3))
    with pytest.raises(ValueError, match='pos_radius'):
        isn_head(pos_radius=-1)


def test_rcnn_decode_of_large_boxes_is_capped_and_close_to_the_full_size_decode():
    """max_decode_size decodes a large box on a smaller map: the keypoint lands within half a
    box side / max_decode_size of Detectron2's full-size decode (max_decode_size=None)."""
    torch.manual_seed(0)
    preds = torch.randn(3, K, 56, 56) * 3
    preds[:, :, 20, 31] += 12  # a clear peak
    boxes = torch.tensor([[0., 0., 900., 600.], [5., 7., 305., 1107.], [3., 4., 60., 70.]])
    full = rcnn_head(max_decode_size=None).decode(preds, boxes)
    capped = rcnn_head(max_decode_size=256).decode(preds, boxes)
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    tol = torch.stack([w, h], 1).clamp(min=256) / 256 / 2 + 1  # + one full-size pixel
    assert ((capped[..., :2] - full[..., :2]).abs() <= tol[:, None]).all()
    assert torch.equal(capped[2], full[2])  # a box under the cap is decoded exactly as before
    # the scores are the bicubic map's values, which depend on the map size: same sign only
    assert (capped[..., 2] > 0).all() and (full[..., 2] > 0).all()
    with pytest.raises(ValueError, match='max_decode_size'):
        rcnn_head(max_decode_size=0)
