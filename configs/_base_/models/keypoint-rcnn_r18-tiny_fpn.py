# The CPU-sized Keypoint R-CNN of the synthetic benchmark: ./faster-rcnn_r18-tiny_fpn.py (ResNet-18
# of 16 base channels, 64-channel FPN, 5 box classes) with Mask R-CNN's keypoint branch
# (KeypointRCNNHead, Mask R-CNN §3) at 64 channels: RoIAlign 14x14 (sampling_ratio=2, as the box
# branch), 4 conv3x3 (Mask R-CNN: 8 of 512), deconv + 2x bilinear to 56x56 heatmaps of the 13
# 'figure' keypoints. The branch runs on every positive RoI and every detection; only figures carry
# labelled keypoints (the other classes' all-v=0 rows give no loss) and only figures are evaluated.
_base_ = ['./faster-rcnn_r18-tiny_fpn.py']
model = dict(
    roi_head=dict(
        type='KeypointRoIHead',
        keypoint_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=2),
            out_channels=64,
            featmap_strides=[4, 8, 16, 32]),
        keypoint_head=dict(
            type='KeypointRCNNHead',
            num_keypoints=13,
            in_channels=64,
            num_convs=4,
            conv_out_channels=64)))
