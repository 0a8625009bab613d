# ISN Keypoint R-CNN on the synthetic benchmark with ISN's light keypoint head (ISN §4.3.2):
# ./isn-keypoint-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py with the head's output changed, nothing
# else: 22x16 (H x W) RoI features (the figures are tall: median h/w 1.5 on the benchmark), no
# deconv, per keypoint a heatmap plus a 2-D offset, both trained with smooth-L1 (ISNKeypointHead).
# Its convs keep the width and depth of the synthetic Mask R-CNN head (4 conv3x3 of 64 channels;
# the paper's 8 of 256 is the R50 size), so the two ISN rows differ by the head's form alone.
_base_ = ['./isn-keypoint-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py']

model = dict(
    roi_head=dict(
        keypoint_roi_extractor=dict(roi_layer=dict(output_size=(22, 16))),
        keypoint_head=dict(_delete_=True, type='ISNKeypointHead', num_keypoints=13,
                           in_channels=64, num_convs=4, conv_out_channels=64)))
