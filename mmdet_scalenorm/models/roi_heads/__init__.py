"""Registered into mmdet's registries on import; each owner adds its modules here."""
from .scale_norm_roi_head import ScaleNormRoIHead  # noqa: F401
