"""Registered into mmdet's registries on import; each owner adds its modules here."""
from .scale_norm_roi_head import ScaleNormRoIHead  # noqa: F401
from .keypoint_rcnn_head import KeypointRCNNHead  # noqa: F401
from .isn_keypoint_head import ISNKeypointHead  # noqa: F401
from .keypoint_roi_head import KeypointRoIHead  # noqa: F401
