"""Registered into mmdet's registries on import; each owner adds its modules here."""
from .soft_nms import batched_soft_nms  # noqa: F401
