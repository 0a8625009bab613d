from . import transforms  # noqa: F401
from .chip_dataset import ChipDataset  # noqa: F401
