from . import transforms  # noqa: F401
from .chip_dataset import ChipDataset  # noqa: F401
from .coco_keypoint import CocoKeypointDataset  # noqa: F401
from . import samplers  # noqa: F401
from .samplers import ChipEpochSampler, ChipInfiniteSampler, ChipScaleBatchSampler  # noqa: F401
