"""Registered into mmdet's registries on import; each owner adds its modules here."""
from .valid_range_sampler import ValidRangeSampler  # noqa: F401
