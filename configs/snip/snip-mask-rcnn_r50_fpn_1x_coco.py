# SNIP training of Mask R-CNN R50-FPN on COCO, mmdet's 1x schedule: the SNIP recipe of
# configs/_base_/scale_norm/snip.py (3 scales with original-pixel ranges, 1000-px chips, invalid GT
# ignored, range-aware R-CNN sampling) with masks loaded and cropped with the chip. Test: single
# scale, or `--tta` for SNIP's 3-scale inference (each surviving box keeps its own view's mask).
_base_ = [
    'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    '../_base_/scale_norm/snip.py',
]
custom_imports = dict(imports=['mmdet_scalenorm'], allow_failed_imports=False)

model = {{_base_.snip_model}}
train_dataloader = dict(dataset=dict(pipeline={{_base_.snip_instance_train_pipeline}}))
