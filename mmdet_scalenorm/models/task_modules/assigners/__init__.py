"""Registered into mmdet's registries on import; each owner adds its modules here."""
from .scale_aware_max_iou_assigner import ScaleAwareMaxIoUAssigner  # noqa: F401
