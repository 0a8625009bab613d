# ISN Keypoint R-CNN R50-FPN with ISN's light keypoint head (ISN §4.3.2, Table 9: MS train & test
# 61.8 -> ISN 65.2 AP^kps): ./isn-keypoint-rcnn_r50_fpn_18e_coco.py with the head's four changes:
# 22x16 RoI features "to better approximate person's shape", 8 conv3x3 of 256 channels instead of
# 512, no deconv, and per keypoint a heatmap plus a 2-D offset map, both trained with smooth-L1
# (ISNKeypointHead; its heatmap-positive disk radius, 1 cell, is our choice: the paper gives none).
_base_ = ['./isn-keypoint-rcnn_r50_fpn_18e_coco.py']

model = dict(
    roi_head=dict(
        keypoint_roi_extractor=dict(roi_layer=dict(output_size=(22, 16))),
        keypoint_head=dict(_delete_=True, type='ISNKeypointHead', num_keypoints=17,
                           in_channels=256)))
