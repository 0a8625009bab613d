"""Dataset analysis helpers for the plotting tools (ISN §3.2, Fig. 1 e/f): the config's image
pyramid and the object scales, valid or ignored, at each of its scales.  No plotting here."""
from .pyramid import (UNDERSTOOD_FORMS, PyramidSample, PyramidSpec, PyramidView,  # noqa: F401
                      ViewScaleStats, build_train_dataset, collect_scale_stats,
                      format_scale_table, iter_pyramid, load_config, prepare_scope, pyramid_views_from_config,
                      train_dataset_cfg, view_range_summary)
