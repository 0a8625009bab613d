# ISN Keypoint R-CNN fine-tuned from the pretrained R18-tiny backbone
# (../_base_/models/r18-tiny_pretrained_backbone.py), as the papers start from ImageNet: the
# keypoint comparison's isn-pre row
# (compare_methods.py --task keypoints --methods isn-pre).
_base_ = [
    './isn-keypoint-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py',
    '../_base_/models/r18-tiny_pretrained_backbone.py',
]
model = dict(backbone={{_base_.pretrained_backbone}})
