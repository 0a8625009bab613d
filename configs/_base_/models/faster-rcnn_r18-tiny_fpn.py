# A CPU-sized Faster R-CNN R18-FPN for the synthetic benchmark, the demo and the tests: mmdet's own
# faster-rcnn_r50_fpn with a ResNet-18 of 16 base channels (16-32-64-128), a 64-channel FPN, fewer
# RoIs and RoIAlign sampling_ratio=2 (mmcv's CPU RoIAlign dominates a CPU training step).
_base_ = ['mmdet::_base_/models/faster-rcnn_r50_fpn.py']
model = dict(
    data_preprocessor=dict(pad_size_divisor=32),
    backbone=dict(
        depth=18,
        base_channels=16,
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(
            out_channels=64, roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=2)),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=5)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=500),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(
        rpn=dict(nms_pre=1000, max_per_img=500),
        rcnn=dict(max_per_img=100)))
