# The R18-tiny backbone fine-tuned from its pretrained weights, stated once: classification of
# canonical-scale object crops of a held-out synthetic set (data seed 2), the stand-in for the
# papers' ImageNet start (SNIP §5, ISN §4.1), written by
#   python tools/misc/pretrain_backbone.py \
#       configs/synthetic/faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py OUT.pth
# and fine-tuned with mmdet's ImageNet recipe: stem and stage 1 frozen, BN statistics frozen.
# A leaf merges it into its model: `model = dict(backbone={{_base_.pretrained_backbone}})`.
# The checkpoint path is relative to the repository root (where tools/train.py runs).
pretrained_backbone = dict(
    frozen_stages=1,
    norm_eval=True,
    init_cfg=dict(
        _delete_=True,  # the from-scratch model has init_cfg=None
        type='Pretrained',
        checkpoint='checkpoints/pretrain/r18-tiny_synthetic-cls_20261206-35fd2053.pth'))
