"""Shared pytest fixtures (each owner adds only its own fixture)."""
import pytest


@pytest.fixture(scope='session')
def synthetic_tiny(tmp_path_factory):
    """The synthetic benchmark's 'tiny' preset (seed 0), generated once per test session.

    Returns ``generate_synthetic_coco``'s dict: data_root, train_ann, val_ann, train_img,
    val_img, manifest, classes, cached.
    """
    from mmdet_scalenorm.datasets.synthetic import generate_synthetic_coco
    out_dir = tmp_path_factory.mktemp('synthetic_tiny')
    return generate_synthetic_coco(str(out_dir), preset='tiny', seed=0, progress=False)


# CI runs hypothesis derandomized (same examples every run, no flaky landings); local runs explore.
import os  # noqa: E402

from hypothesis import settings  # noqa: E402

settings.register_profile('ci', derandomize=True, deadline=None, print_blob=True)
if os.environ.get('CI'):
    settings.load_profile('ci')
