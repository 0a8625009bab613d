# The synthetic benchmark's instance segmentation as SNIPER epochs: ./synthetic_detection_chips.py
# evaluated on boxes and masks, as ./synthetic_instance.py (the chip pipeline of the method base
# loads the masks; ChipDataset's SampleChip crops them with the chip).
_base_ = ['./synthetic_detection_chips.py']

val_evaluator = dict(metric=['bbox', 'segm'])
test_evaluator = val_evaluator
