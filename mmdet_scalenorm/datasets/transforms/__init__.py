"""Registered into mmdet's registries on import; each owner adds its modules here."""
from .valid_range import MarkValidRange  # noqa: F401
from .chip import SampleChip  # noqa: F401
from .resize_to_chip_scale import ResizeToChipScale  # noqa: F401
from .loading import LoadImageFromFileOrSkip  # noqa: F401
from .formatting import PackScaleNormInputs  # noqa: F401
from .keypoints import KeypointRandomFlip, KeypointResize, LoadAnnotationsWithKeypoints  # noqa: F401,E501
