"""``ScaleNormTTAModel``: per-view range filter + soft-NMS merge (SNIP §6.1, ISN §3.3.1)."""
import math

import pytest
import torch
from mmdet.models.test_time_augs import DetTTAModel
from mmdet.structures import DetDataSample
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import nn

from mmdet_scalenorm.models.test_time_augs import ScaleNormTTAModel
from mmdet_scalenorm.ops import batched_soft_nms

ORI = (100, 200)  # h, w of the original image


class EchoDetector(nn.Module):
    """Stands in for a detector: its 'predictions' are the data samples it is given."""

    def test_step(self, data):
        return data['data_samples']


def view(boxes, scores=None, labels=None, f=1.0, flip=False, direction='horizontal', **fields):
    boxes = torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    n = boxes.size(0)
    s = DetDataSample(metainfo=dict(
        img_id=0, ori_shape=ORI, img_shape=(round(ORI[0] * f), round(ORI[1] * f)),
        scale_factor=(f, f), flip=flip, flip_direction=direction if flip else None))
    p = InstanceData()
    p.bboxes = boxes
    p.scores = torch.linspace(0.9, 0.5, n) if scores is None else torch.as_tensor(
        scores, dtype=torch.float32)
    p.labels = torch.zeros(n, dtype=torch.long) if labels is None else torch.as_tensor(labels)
    for k, v in fields.items():
        p[k] = v
    s.pred_instances = p
    return s


def square(x, y, side):
    return [x, y, x + side, y + side]


def merge(model, views):
    return model.test_step(dict(inputs=[[None]] * len(views),
                                data_samples=[[v] for v in views]))[0].pred_instances


HARD = dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=100)
SOFT = dict(nms=dict(type='soft_nms', iou_threshold=0.3, sigma=0.5, min_score=1e-3,
                     method='gaussian'), max_per_img=100)


def build(**kw):
    """The TTA model under test; without a range argument it merges without a range, which
    must be asked for explicitly (valid_range=(0, inf))."""
    if 'valid_range' not in kw and 'scale_ranges' not in kw:
        kw['valid_range'] = (0, math.inf)
    return ScaleNormTTAModel(module=EchoDetector(), **kw)


def test_isn_range_edges_in_resized_pixels():
    # valid_range (16, 560) closed, resized scale = original scale * f
    m = build(tta_cfg=HARD, valid_range=(16, 560))
    # at f=2: original sides 8 (-> 16, kept), 7.5 (-> 15, dropped), 280 (-> 560, kept)
    boxes = [square(0, 0, 8), square(50, 50, 7.5), [0, 0, 140, 0], square(100, 0, 2)]
    boxes[2] = [0, 0, 200, 392]  # sqrt(200*392) = 280 -> 560 at f=2: kept
    out = merge(m, [view(boxes, f=2.0)])
    assert sorted(out.bboxes.tolist()) == sorted([square(0, 0, 8), [0, 0, 200, 392]])
    # at f=0.5 a side of 32 -> 16 is kept, 31 -> 15.5 dropped
    out = merge(m, [view([square(0, 0, 32), square(100, 50, 31)], f=0.5)])
    assert out.bboxes.tolist() == [square(0, 0, 32)]


def test_isn_uses_anisotropic_scale_factor_mean():
    m = build(tta_cfg=HARD, valid_range=(16, 560))
    s = view([square(0, 0, 8)])
    s.set_metainfo(dict(scale_factor=(4.0, 1.0)))  # sqrt(4 * 1) = 2 -> 16: kept
    assert len(merge(m, [s])) == 1
    s = view([square(0, 0, 8)])
    s.set_metainfo(dict(scale_factor=(3.9, 1.0)))  # 8 * sqrt(3.9) < 16: dropped
    assert len(merge(m, [s])) == 0


def test_snip_ranges_by_view_order_in_original_pixels():
    # 3 scales x (no flip, flip): 6 views, scale-major.  Ranges in ORIGINAL pixels.
    ranges = [(0, 80), (40, 160), (120, 'inf')]
    small, mid, big, huge = square(0, 0, 30), square(100, 0, 80), square(0, 0, 100), \
        [0, 0, 200, 100]  # scales 30, 80, 100, 141.4
    views = []
    for si, f in enumerate((2.0, 1.0, 0.5)):
        for flip in (False, True):
            bxs = [small, mid, big, huge]
            if flip:  # the detector reports flipped-image coordinates
                bxs = [[ORI[1] - b[2], b[1], ORI[1] - b[0], b[3]] for b in bxs]
            # the score tells which scale a survivor came from
            views.append(view(bxs, scores=[0.9 - 0.3 * si] * 4, labels=[0, 1, 2, 3], f=f,
                              flip=flip))
    out = merge(build(tta_cfg=HARD, scale_ranges=ranges), views)
    got = {int(lab): round(float(sc), 3) for lab, sc in zip(out.labels, out.scores)}
    # scale 0 (0, 80): small, mid (80 is the closed edge); scale 1 (40, 160): mid, big, huge;
    # scale 2 (120, inf): huge only
    assert got == {0: 0.9, 1: 0.9, 2: 0.6, 3: 0.6}
    assert out.bboxes.tolist() == [small, mid, big, huge]  # flipped views mapped back
    out = merge(build(tta_cfg=HARD, scale_ranges=ranges), views[4:] + views[:4])
    got = {int(lab): round(float(sc), 3) for lab, sc in zip(out.labels, out.scores)}
    assert got == {0: 0.3, 1: 0.9, 2: 0.9, 3: 0.9}  # the order of views decides the range
    out = merge(build(tta_cfg=HARD, scale_ranges=ranges[2:]), views[4:])
    assert out.labels.tolist() == [3]
    with pytest.raises(ValueError, match='scale_ranges has 3 ranges'):
        merge(build(tta_cfg=HARD, scale_ranges=ranges), views[:4])


def test_flip_back_boxes_masks_keypoints():
    h, w = ORI
    box = [10, 20, 40, 60]
    mask = torch.zeros(1, h, w, dtype=torch.bool)
    mask[0, 20:60, 10:40] = True
    kpts = torch.tensor([[[15., 25., 2.], [35., 50., 1.]]])  # K=2: left, right
    kscores = torch.tensor([[0.9, 0.4]])
    flip_idx = [1, 0]
    # the flipped view sees everything mirrored
    fbox = [w - 40, 20, w - 10, 60]
    fmask = mask.flip(-1)
    fk = kpts[:, [1, 0]].clone()
    fk[..., 0] = w - fk[..., 0]
    v = view([fbox], scores=[0.8], flip=True, masks=fmask, keypoints=fk,
             keypoint_scores=kscores[:, [1, 0]])
    m = build(tta_cfg=HARD, flip_indices=flip_idx)
    out = merge(m, [v])
    assert out.bboxes.tolist() == [box]
    assert torch.equal(out.masks, mask)
    assert torch.equal(out.keypoints, kpts)
    assert torch.equal(out.keypoint_scores, kscores)
    # flip_indices from the view metainfo win; without any, flipping keypoints is an error
    v.set_metainfo(dict(flip_indices=[0, 1]))
    assert not torch.equal(merge(build(tta_cfg=HARD), [v]).keypoints, kpts)
    v2 = view([fbox], flip=True, keypoints=fk)
    with pytest.raises(ValueError, match='flip_indices'):
        merge(build(tta_cfg=HARD), [v2])
    # vertical and diagonal flips of boxes and masks
    for direction, dims in (('vertical', [-2]), ('diagonal', [-2, -1])):
        fb = {'vertical': [10, h - 60, 40, h - 20], 'diagonal': [w - 40, h - 60, w - 10, h - 20]}
        out = merge(m, [view([fb[direction]], flip=True, direction=direction,
                             masks=mask.flip(dims))])
        assert out.bboxes.tolist() == [box] and torch.equal(out.masks, mask)


def test_masks_and_keypoints_follow_their_own_box():
    h, w = ORI
    boxes = [square(10, 10, 20), square(12, 12, 20), square(100, 50, 30)]  # 0 and 1 overlap
    masks = torch.zeros(3, h, w, dtype=torch.bool)
    for i, b in enumerate(boxes):
        masks[i, int(b[1]):int(b[3]), int(b[0]):int(b[2])] = True
    kpts = torch.tensor(boxes, dtype=torch.float32)[:, None, :2].repeat(1, 3, 1)
    v0 = view(boxes[:2], scores=[0.6, 0.9], masks=masks[:2], keypoints=kpts[:2], f=1.0)
    v1 = view(boxes[2:], scores=[0.7], masks=masks[2:], keypoints=kpts[2:], f=0.5)
    for cfg in (HARD, SOFT):
        out = merge(build(tta_cfg=cfg), [v0, v1])
        assert out.masks.shape[1:] == (h, w) and len(out.masks) == len(out) == len(out.keypoints)
        for b, mk, kp in zip(out.bboxes, out.masks, out.keypoints):
            i = boxes.index(b.tolist())
            assert torch.equal(mk, masks[i]) and torch.equal(kp, kpts[i])
    out = merge(build(tta_cfg=HARD), [v0, v1])
    assert out.bboxes.tolist() == [boxes[1], boxes[2]]  # box 0 suppressed by hard NMS


def test_soft_nms_merge_is_batched_soft_nms_of_the_views():
    g = torch.Generator().manual_seed(0)
    views, allb, alls, alll = [], [], [], []
    for f in (2.0, 1.0, 0.5):
        xy = torch.rand(30, 2, generator=g) * 150
        b = torch.cat([xy, xy + 5 + torch.rand(30, 2, generator=g) * 40], 1)
        s, lab = torch.rand(30, generator=g), torch.randint(0, 3, (30,), generator=g)
        views.append(view(b, scores=s, labels=lab, f=f))
        allb.append(b), alls.append(s), alll.append(lab)
    cfg = dict(SOFT, max_per_img=20)
    out = merge(build(tta_cfg=cfg), views)
    nms = dict(SOFT['nms'])
    nms.pop('type')
    dets, keep = batched_soft_nms(torch.cat(allb), torch.cat(alls), torch.cat(alll),
                                  max_num=20, **nms)
    assert torch.equal(out.bboxes, dets[:, :4]) and torch.equal(out.scores, dets[:, 4])
    assert torch.equal(out.labels, torch.cat(alll)[keep])


def test_unbounded_hard_nms_equals_det_tta_model():
    g = torch.Generator().manual_seed(1)

    def views():
        g.manual_seed(1)
        out = []
        for f, flip in ((2.0, False), (2.0, True), (1.0, False), (0.5, True)):
            xy = torch.rand(40, 2, generator=g) * 150
            b = torch.cat([xy, xy + 2 + torch.rand(40, 2, generator=g) * 60], 1)
            out.append(view(b, scores=torch.rand(40, generator=g),
                            labels=torch.randint(0, 4, (40,), generator=g), f=f, flip=flip))
        out.append(view(torch.zeros(0, 4)))  # an empty view
        return out

    cfg = dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=50)
    ours = merge(build(tta_cfg=cfg), views())
    theirs = DetTTAModel(module=EchoDetector(), tta_cfg=ConfigDict(cfg)).test_step(
        dict(inputs=[[None]] * 5, data_samples=[[v] for v in views()]))[0].pred_instances
    for k in ('bboxes', 'scores', 'labels'):
        assert torch.equal(ours[k], theirs[k])
    ours = merge(build(tta_cfg=cfg, valid_range=(0, math.inf)), views())
    assert torch.equal(ours.bboxes, theirs.bboxes)


def test_empty_views_all_empty_and_single_view():
    m = build(tta_cfg=SOFT, valid_range=(16, 560))
    h, w = ORI
    e = view(torch.zeros(0, 4), masks=torch.zeros(0, h, w, dtype=torch.bool))
    out = merge(m, [e, e])
    assert out.bboxes.shape == (0, 4) and out.scores.shape == (0,) and out.labels.shape == (0,)
    assert out.masks.shape == (0, h, w)
    one = view([square(0, 0, 20)], scores=[0.5], masks=torch.ones(1, h, w, dtype=torch.bool))
    out = merge(m, [e, one])
    assert out.bboxes.tolist() == [square(0, 0, 20)] and out.scores.tolist() == [0.5]
    out = merge(m, [view([square(0, 0, 20)], scores=[0.5])])
    assert len(out) == 1
    # everything out of range -> empty result
    assert len(merge(m, [view([square(0, 0, 5)])])) == 0


def test_nan_detections_dropped_with_warning():
    m = build(tta_cfg=SOFT)
    v = view([square(0, 0, 20), [math.nan, 0, 10, 10], square(50, 50, 20)],
             scores=[0.9, 0.8, math.inf])
    with pytest.warns(UserWarning, match='NaN/inf'):
        out = merge(m, [v])
    assert out.bboxes.tolist() == [square(0, 0, 20)]


def test_max_per_img():
    boxes = [square(20 * i, 0, 10) for i in range(10)]
    for cfg in (HARD, SOFT):
        out = merge(build(tta_cfg=dict(cfg, max_per_img=4)), [view(boxes)])
        assert len(out) == 4
        assert out.scores.tolist() == pytest.approx(torch.linspace(0.9, 0.5, 10)[:4].tolist())


@pytest.mark.parametrize('kw, key', [
    (dict(valid_range=(560, 16)), 'valid_range'),
    (dict(scale_ranges=[(0, 80), (160, 40)]), r'scale_ranges\[1\]'),
    (dict(valid_range=(16, 560), scale_ranges=[(0, 80)]), 'either valid_range'),
    (dict(tta_cfg=dict(nms=dict(type='soft_nms', sigma=0), max_per_img=10)), 'sigma'),
    (dict(tta_cfg=dict(nms=dict(type='soft_nms', method='hard'), max_per_img=10)), 'method'),
    (dict(tta_cfg=dict(nms=dict(type='matrix_nms'), max_per_img=10)), 'tta_cfg.nms.type'),
    (dict(tta_cfg=dict(nms=dict(type='nms', iou_threshold=2.0))), 'iou_threshold'),
    (dict(tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=0)), 'max_per_img'),
    (dict(flip_indices=[0, 0]), 'flip_indices'),
])
def test_bad_config(kw, key):
    with pytest.raises(ValueError, match=key):
        build(**kw)


def test_builds_from_registry():
    from mmdet.registry import MODELS
    m = MODELS.build(dict(type='ScaleNormTTAModel', module=EchoDetector(),
                          tta_cfg=SOFT, valid_range=(16, 560)))
    assert isinstance(m, ScaleNormTTAModel) and m.valid_range == (16.0, 560.0)


@pytest.mark.slow
def test_tools_test_tta_end_to_end(tmp_path, synthetic_tiny):
    """`tools/test.py CONFIG CKPT --tta` with the shipped ISN synthetic config (isn.py's test):
    a random-init tiny model saved as a checkpoint, 5-scale inference, COCO metrics."""
    import os
    import re
    import subprocess
    import sys

    from mmdet.apis import init_detector

    from tests._tiny_config import REPO, write_tiny_config
    isn = os.path.join(REPO, 'configs', 'synthetic',
                       'isn-faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py')
    cfg = write_tiny_config(
        tmp_path / 'tiny_isn.py', synthetic_tiny, base=isn,
        extra='model = dict(test_cfg=dict(rpn=dict(nms_pre=100, max_per_img=30), '
              'rcnn=dict(score_thr=0.0, max_per_img=30)))')
    torch.manual_seed(0)
    model = init_detector(str(cfg), None, device='cpu')
    ckpt = tmp_path / 'random.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    env = dict(os.environ, PYTHONWARNINGS='ignore', OMP_NUM_THREADS='1')
    p = subprocess.run([sys.executable, 'tools/test.py', str(cfg), str(ckpt), '--tta',
                        '--work-dir', str(tmp_path / 'work')], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=600)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-4000:]
    assert 'Cannot find ``tta_model``' not in out  # the config's own tta_model was used
    m = re.search(r'coco/bbox_mAP: (-?[\d.]+)', out)
    assert m, out[-3000:]
    # the same AP as the config's tta_model + tta_pipeline evaluated in this process
    from mmengine.config import Config
    from mmdet_scalenorm.apis.experiment import evaluate
    c = Config.fromfile(str(cfg))
    c.work_dir = str(tmp_path / 'inproc')
    want = evaluate(c, str(ckpt), tta=True)['coco/bbox_mAP']
    assert abs(float(m.group(1)) - want) < 1e-4, (m.group(1), want)


def test_snip_range_with_anisotropic_scale_factor():
    # scale_ranges in original pixels: (40, 160) is (80, 320) in a view with (sx, sy) = (4, 1)
    # (range_in_pixels); a detection's view scale is box_scale(original box) * 2, so the filter
    # is the original-pixel comparison: sides 40 and 160 kept (closed), 39 and 161 dropped
    s = view([square(0, 0, 40), square(50, 0, 39), [0, 0, 160, 160], [0, 0, 161, 161]],
             labels=[0, 1, 2, 3])
    s.set_metainfo(dict(scale_factor=(4.0, 1.0)))
    out = merge(build(tta_cfg=HARD, scale_ranges=[(40, 160)]), [s])
    assert sorted(out.labels.tolist()) == [0, 2]


def test_view_filter_is_mark_valid_range_rule_in_view_pixels():
    """Per view, a detection is kept iff MarkValidRange (the GT rule of training) would keep the
    same box in that view's pixels: range_in_pixels for the range, sqrt(w*h) in view pixels.
    Integer boxes and scale factors with an exact sqrt(sx*sy), so edges are hit exactly."""
    import numpy as np
    from mmdet.structures.bbox import HorizontalBoxes

    from mmdet_scalenorm.datasets.transforms import MarkValidRange
    g = torch.Generator().manual_seed(0)
    for trial in range(30):
        reference = ('resized', 'original')[trial % 2]
        lo = int(torch.randint(0, 30, (1, ), generator=g))
        rng = (lo, lo + int(torch.randint(0, 40, (1, ), generator=g)))
        n = 25
        xy = torch.randint(0, 100, (n, 2), generator=g).float()
        wh = torch.randint(1, 60, (n, 2), generator=g).float()
        boxes = torch.cat([xy, xy + wh], 1)
        for sf in ((2.0, 2.0), (0.5, 0.5), (4.0, 1.0), (1.0, 1.0), (0.25, 4.0)):
            s = view(boxes, labels=torch.arange(n))  # one label each: NMS suppresses nothing
            s.set_metainfo(dict(scale_factor=sf))
            kw = dict(valid_range=rng) if reference == 'resized' else dict(scale_ranges=[rng])
            out = merge(build(tta_cfg=HARD, **kw), [s])
            resized = (boxes * torch.tensor([*sf, *sf])).numpy()
            res = dict(gt_bboxes=HorizontalBoxes(resized), scale_factor=sf,
                       gt_bboxes_labels=np.zeros(n, np.int64))
            res = MarkValidRange(rng, reference, keep_empty=True)(res)
            expected = np.flatnonzero(~res['gt_ignore_flags']).tolist()
            assert sorted(out.labels.tolist()) == expected, (reference, rng, sf)


def test_view_metainfo_range_is_used_whatever_the_view_order():
    """SNIP views that carry their own ``valid_range`` (MarkValidRange in the view pipeline,
    resized pixels): reordering the views gives the same merge, and the metainfo wins over the
    model's order-based ``scale_ranges``."""
    ranges = [(0, 80), (40, 160), (120, math.inf)]
    small, mid, big, huge = square(0, 0, 30), square(100, 0, 80), square(0, 0, 100), \
        [0, 0, 200, 100]
    views = []
    for si, f in enumerate((2.0, 1.0, 0.5)):
        v = view([small, mid, big, huge], scores=[0.9 - 0.3 * si] * 4, labels=[0, 1, 2, 3], f=f)
        lo, hi = ranges[si]
        v.set_metainfo(dict(valid_range=(lo * f, hi * f)))  # MarkValidRange, reference original
        views.append(v)
    want = {0: 0.9, 1: 0.9, 2: 0.6, 3: 0.6}  # as test_snip_ranges_by_view_order_in_original_pixels
    for order in ([0, 1, 2], [2, 0, 1], [1, 2, 0]):
        for kw in (dict(), dict(scale_ranges=[(0, 1), (0, 1), (0, 1)])):
            out = merge(build(tta_cfg=HARD, **kw), [views[i] for i in order])
            got = {int(lab): round(float(sc), 3) for lab, sc in zip(out.labels, out.scores)}
            assert got == want, (order, kw)


def test_snip_tta_config_views_carry_their_ranges(synthetic_tiny):
    """The shipped SNIP TTA pipeline on a real image: each view's packed metainfo holds its
    scale's original-pixel range converted to that view's pixels."""
    import os.path as osp
    from mmengine.config import Config
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    from tests._tiny_config import REPO
    init_default_scope('mmdet')
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'snip', 'snip-faster-rcnn_r50_fpn_1x_coco.py'))
    assert 'scale_ranges' not in cfg.tta_model
    img = osp.join(synthetic_tiny['train_img'], sorted(__import__('os').listdir(
        synthetic_tiny['train_img']))[0])
    out = Compose(cfg.tta_pipeline)(dict(img_path=img, img_id=0))
    metas = [s.metainfo for s in out['data_samples']]
    assert len(metas) == 3
    for meta, (lo, hi) in zip(metas, [(0, 80), (40, 160), (120, math.inf)]):
        f = math.sqrt(meta['scale_factor'][0] * meta['scale_factor'][1])
        assert meta['valid_range_info']['reference'] == 'original'
        assert math.isclose(meta['valid_range'][0], lo * f)
        assert math.isinf(hi) or math.isclose(meta['valid_range'][1], hi * f)


def test_mask_of_one_object_is_the_same_from_x1_x2_and_flipped_views():
    """Masks through mmdet's own pasting (FCNMaskHead.predict_by_feat, rescale=True: the view's
    boxes divided by its scale factor, the mask pasted at the original size) and this merger's
    flip-back: a x2 view and a flipped view of an object give the x1 view's mask, whichever view
    wins the merge. The mask logits mark the object's left half, so a wrong flip shows."""
    from mmdet.models.roi_heads.mask_heads import FCNMaskHead
    head = FCNMaskHead(num_classes=1)
    cfg = ConfigDict(mask_thr_binary=0.5)
    h, w = ORI
    box = torch.tensor([[30., 20., 110., 70.]])  # original pixels
    left = torch.full((1, 1, 28, 28), -10.)
    left[..., :14] = 10.  # the object's left half

    def predicted(f, flip, score):
        b = box.clone()
        logits = left
        if flip:  # the detector sees the mirrored image: mirrored box, mirrored pattern
            b = torch.stack([w - b[:, 2], b[:, 1], w - b[:, 0], b[:, 3]], 1)
            logits = left.flip(-1)
        meta = dict(img_id=0, ori_shape=ORI, img_shape=(round(h * f), round(w * f)),
                    scale_factor=(f, f), flip=flip, flip_direction='horizontal' if flip else None)
        res = InstanceData(bboxes=b * f, labels=torch.zeros(1, dtype=torch.long),
                           scores=torch.tensor([score]))
        (res, ) = head.predict_by_feat((logits, ), [res], [meta], cfg, rescale=True)
        s = DetDataSample(metainfo=meta)
        s.pred_instances = res
        return s

    ref = predicted(1.0, False, 0.5).pred_instances.masks[0]
    assert ref.shape == ORI and ref[20:70, 30:70].float().mean() > 0.9
    assert ref[20:70, 70:110].float().mean() < 0.1  # the right half is empty
    for winner in range(3):
        scores = [0.5, 0.5, 0.5]
        scores[winner] = 0.9
        views = [predicted(1.0, False, scores[0]), predicted(2.0, False, scores[1]),
                 predicted(1.0, True, scores[2])]
        out = merge(build(tta_cfg=HARD), views)
        assert len(out) == 1 and out.scores.tolist() == [pytest.approx(0.9)]
        inter = (out.masks[0] & ref).sum().item()
        union = (out.masks[0] | ref).sum().item()
        assert inter / union > 0.95, (winner, inter / union)
        assert torch.allclose(out.bboxes, box)


def test_no_range_anywhere_is_an_error_not_a_silent_switch_off():
    m = ScaleNormTTAModel(module=EchoDetector(), tta_cfg=HARD)
    v = view([square(0, 0, 5), square(0, 0, 40)])
    with pytest.raises(ValueError, match=r"no 'valid_range' metainfo.*valid_range=\(0, 'inf'\)"):
        merge(m, [v])
    # a view that carries its own range needs no model range
    v.set_metainfo(dict(valid_range=(16.0, 560.0)))
    assert merge(m, [v]).bboxes.tolist() == [square(0, 0, 40)]
    # the explicit no-range model keeps both
    assert len(merge(build(tta_cfg=HARD), [view([square(0, 0, 5), square(0, 0, 40)])])) == 2
