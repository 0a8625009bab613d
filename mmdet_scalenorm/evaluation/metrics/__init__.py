"""Registered into mmdet's registries on import; each owner adds its modules here."""
from .scale_range_coco_metric import ScaleRangeCocoMetric  # noqa: F401
from .coco_keypoint_metric import CocoKeypointMetric  # noqa: F401
