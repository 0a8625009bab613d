"""draw_keypoints: the points above the keypoint threshold and the skeleton edges between two
drawn points appear in the image, in their colours; low-score keypoints, edges to them, instances
below the box threshold or of other labels leave the image untouched; bad input is an error."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from mmengine.visualization import Visualizer

from mmdet_scalenorm.apis import draw_keypoints

RED, YELLOW = (255, 0, 0), (255, 255, 0)


def _vis(name):
    vis = Visualizer.get_instance(name)
    vis.set_image(np.zeros((100, 120, 3), np.uint8))
    return vis


def _instances():
    kps = torch.tensor([
        [[20., 20., .9], [60., 20., .8], [60., 70., .01]],  # drawn; its 3rd point is too weak
        [[100., 80., .9], [110., 90., .9], [100., 90., .9]],  # box score 0.1: not drawn
        [[10., 90., .9], [30., 90., .9], [20., 80., .9]],  # label 0: not a keypoint class
    ])
    return InstanceData(bboxes=torch.zeros(3, 4), scores=torch.tensor([.9, .1, .9]),
                        labels=torch.tensor([1, 1, 0]), keypoints=kps)


def _is(img, xy, rgb):
    x, y = xy
    return np.abs(img[y, x].astype(int) - rgb).max() <= 40


def test_points_and_edges_of_kept_instances_only():
    vis = _vis('kps_vis_a')
    img = draw_keypoints(vis, _instances(), skeleton=[[0, 1], [1, 2]], labels=[1],
                         score_thr=0.5, radius=3)
    assert img.shape == (100, 120, 3)
    assert _is(img, (20, 20), RED) and _is(img, (60, 20), RED)  # the points
    assert _is(img, (40, 20), YELLOW)  # the edge 0-1, halfway
    # keypoint 2 (score 0.01) and its edge 1-2 are not drawn
    assert (img[45, 60] == 0).all() and (img[70, 60] == 0).all()
    # the low-score instance and the other label's instance leave the image black
    for x, y in ((100, 80), (110, 90), (10, 90), (20, 90)):
        assert (img[y, x] == 0).all(), (x, y)
    drawn = (img.sum(2) > 0)
    assert drawn[:40, :75].sum() == drawn.sum()  # nothing anywhere else


def test_every_label_and_no_skeleton():
    img = draw_keypoints(_vis('kps_vis_b'), _instances(), skeleton=[], score_thr=0.5, radius=2)
    assert _is(img, (10, 90), RED) and _is(img, (30, 90), RED)  # label 0 drawn too
    assert (img[20, 40] == 0).all()  # no edges without a skeleton


def test_bad_input_is_an_error():
    inst = _instances()
    with pytest.raises(ValueError, match=r'outside 0..2'):
        draw_keypoints(_vis('kps_vis_c'), inst, skeleton=[[0, 3]])
    with pytest.raises(ValueError, match=r'\(N, K, 3\)'):
        draw_keypoints(_vis('kps_vis_c'), InstanceData(
            bboxes=torch.zeros(3, 4), scores=torch.ones(3), labels=torch.zeros(3),
            keypoints=torch.zeros(3, 4, 2)), skeleton=[])
    with pytest.raises(ValueError, match="no 'keypoints'"):
        draw_keypoints(_vis('kps_vis_c'), InstanceData(scores=torch.ones(1)), skeleton=[])
