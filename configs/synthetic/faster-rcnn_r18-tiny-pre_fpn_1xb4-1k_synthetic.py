# The single-scale baseline fine-tuned from the pretrained R18-tiny backbone
# (../_base_/models/r18-tiny_pretrained_backbone.py): the competitor of
# isn-faster-rcnn_r18-tiny-pre_fpn_1xb4-1k_synthetic.py at the same number of training samples.
_base_ = [
    './faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py',
    '../_base_/models/r18-tiny_pretrained_backbone.py',
]
model = dict(backbone={{_base_.pretrained_backbone}})
