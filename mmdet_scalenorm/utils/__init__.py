from .checkpoint import allow_full_checkpoint_load  # noqa: F401
from .launch import prepare_cpu_launch  # noqa: F401
