# COCO instance segmentation as SNIPER epochs: ./coco_detection_chips.py evaluated on boxes and
# masks, as mmdet's coco_instance.py (the chip pipeline of the method base loads the masks).
_base_ = ['./coco_detection_chips.py']

val_evaluator = dict(metric=['bbox', 'segm'])
test_evaluator = val_evaluator
