from .launch import prepare_cpu_launch  # noqa: F401
