# The CPU-sized Mask R-CNN of the synthetic benchmark: ./faster-rcnn_r18-tiny_fpn.py (ResNet-18 of
# 16 base channels, 64-channel FPN) with mmdet's Mask R-CNN mask branch at 64 channels (RoIAlign
# 14x14, sampling_ratio=2, 4 convs, 28x28 masks).
_base_ = ['./faster-rcnn_r18-tiny_fpn.py']
model = dict(
    type='MaskRCNN',
    data_preprocessor=dict(pad_mask=True),
    roi_head=dict(
        mask_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=2),
            out_channels=64,
            featmap_strides=[4, 8, 16, 32]),
        mask_head=dict(
            type='FCNMaskHead',
            num_convs=4,
            in_channels=64,
            conv_out_channels=64,
            num_classes=5,
            loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))),
    train_cfg=dict(rcnn=dict(mask_size=28)),
    test_cfg=dict(rcnn=dict(mask_thr_binary=0.5)))
