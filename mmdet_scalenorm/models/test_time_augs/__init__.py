"""Registered into mmdet's registries on import; each owner adds its modules here."""
from .scalenorm_tta import ScaleNormTTAModel  # noqa: F401
