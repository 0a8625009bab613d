# Keypoint R-CNN R50-FPN for COCO person keypoints (Mask R-CNN §3 "keypoint detection";
# Detectron2's keypoint_rcnn_R_50_FPN): mmdet's faster-rcnn_r50_fpn with one box class (person) and
# the keypoint branch: RoIAlign 14x14 on the FPN levels, 8 conv3x3 of 512 channels, deconv + 2x
# bilinear upsampling to 56x56 heatmaps of the 17 COCO keypoints (KeypointRCNNHead), spatial
# softmax cross-entropy averaged over the labelled keypoints of the batch. From Detectron2's
# Base-Keypoint-RCNN-FPN: 1500 RPN proposals per training image (mmdet: 1000).
_base_ = ['mmdet::_base_/models/faster-rcnn_r50_fpn.py']
model = dict(
    roi_head=dict(
        type='KeypointRoIHead',
        bbox_head=dict(num_classes=1),
        keypoint_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
            out_channels=256,
            featmap_strides=[4, 8, 16, 32]),
        keypoint_head=dict(type='KeypointRCNNHead', num_keypoints=17, in_channels=256)),
    train_cfg=dict(rpn_proposal=dict(max_per_img=1500)))
