"""Registered into mmdet's registries on import; each owner adds its modules here."""
