# Baseline Keypoint R-CNN R50-FPN on COCO person keypoints, as Detectron2's
# keypoint_rcnn_R_50_FPN_1x (64.0 keypoint AP, 53.6 box AP): one class (person), Mask R-CNN's
# keypoint head (14x14 RoIs, 8 convs of 512, 56x56 heatmaps), multi-scale training (short side
# 640..800), single-scale test at 800, 90k iterations of batch 16. The comparator of the scale-
# normalized keypoint configs (configs/ms/, configs/isn/) without any pyramid.
_base_ = [
    '../_base_/models/keypoint-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_keypoint.py',
    '../_base_/schedules/detectron2_1x.py',
]
custom_imports = dict(imports=['mmdet_scalenorm'], allow_failed_imports=False)

train_dataloader = dict(sampler=dict(type='InfiniteSampler', shuffle=True))
