# SNIP (Singh & Davis, CVPR 2018) training of Faster R-CNN R50-FPN on COCO, with mmdet's 1x
# schedule; the method is stated once in configs/_base_/scale_norm/snip.py. Image pyramid of 3
# scales, each with its own valid range in ORIGINAL-image pixels (SNIP §7.1): 1400x2000 -> (0, 80),
# 800x1200 -> (40, 160), 480x800 -> (120, inf). GT outside the range of the drawn scale is invalid
# (MarkValidRange, reference='original'): anchors/proposals with IoU > 0.3 to it are ignored
# (ScaleAwareMaxIoUAssigner, SNIP §6.1), priors of <= 64 px holding more than half of an invalid GT
# are never background, and RoIs outside the range are not sampled (ValidRangeSampler with the
# per-image range from ScaleNormRoIHead). High resolutions are cut into 1000x1000 chips (SNIP
# §6.2). Test: mmdet's single scale, or the SNIP multi-scale inference of
# configs/_base_/scale_norm/snip.py with `--tta`.
_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    '../_base_/scale_norm/snip.py',
]
custom_imports = dict(imports=['mmdet_scalenorm'], allow_failed_imports=False)

model = {{_base_.snip_model}}
train_dataloader = dict(dataset=dict(pipeline={{_base_.snip_train_pipeline}}))
