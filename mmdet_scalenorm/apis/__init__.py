"""Registered into mmdet's registries on import; each owner adds its modules here."""
from . import experiment  # noqa: F401
from .inference import inference_scalenorm, init_scalenorm_detector  # noqa: F401
from .keypoint_vis import draw_keypoints  # noqa: F401
