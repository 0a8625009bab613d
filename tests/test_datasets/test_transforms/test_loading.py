import json
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest

import mmdet_scalenorm  # noqa: F401
from mmdet_scalenorm.datasets.transforms.loading import LoadImageFromFileOrSkip


@pytest.fixture
def images(tmp_path):
    good = tmp_path / 'good.png'
    cv2.imwrite(str(good), np.full((20, 30, 3), 7, np.uint8))
    truncated = tmp_path / 'truncated.png'
    truncated.write_bytes(good.read_bytes()[:40])
    text = tmp_path / 'text.jpg'
    text.write_text('not an image')
    return dict(good=str(good), truncated=str(truncated), text=str(text),
                missing=str(tmp_path / 'missing.jpg'))


def test_good_image_loads_like_mmcv(images):
    from mmcv.transforms import LoadImageFromFile
    ours = LoadImageFromFileOrSkip()(dict(img_path=images['good']))
    ref = LoadImageFromFile()(dict(img_path=images['good']))
    assert np.array_equal(ours['img'], ref['img'])
    assert ours['img_shape'] == ours['ori_shape'] == (20, 30)


@pytest.mark.parametrize('kind', ['truncated', 'text', 'missing'])
def test_bad_image_is_skipped_counted_and_named(images, kind):
    LoadImageFromFileOrSkip.skipped.clear()
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    messages = []
    handler_emit = lambda record: messages.append(record.getMessage())  # noqa: E731
    import logging
    h = logging.Handler()
    h.emit = handler_emit
    logger.addHandler(h)
    try:
        t = LoadImageFromFileOrSkip()
        assert t(dict(img_path=images[kind])) is None
        assert t(dict(img_path=images[kind])) is None
    finally:
        logger.removeHandler(h)
    assert LoadImageFromFileOrSkip.skipped == {images[kind]: 2}
    assert any(images[kind] in m and 'skipping corrupt' in m for m in messages)


def test_training_dataset_survives_a_corrupt_image(tmp_path, synthetic_tiny):
    """A COCO training set with one corrupt image: every index still yields a sample."""
    from mmdet.datasets import CocoDataset
    from mmdet.utils import register_all_modules
    register_all_modules()
    root = tmp_path / 'data'
    shutil.copytree(synthetic_tiny['data_root'], root)
    with open(root / 'annotations' / 'instances_train.json') as f:
        first = json.load(f)['images'][0]['file_name']
    (root / 'train' / first).write_bytes(b'\x89PNG broken')
    LoadImageFromFileOrSkip.skipped.clear()
    ds = CocoDataset(
        data_root=str(root), ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'), metainfo=dict(classes=synthetic_tiny['classes']),
        pipeline=[dict(type='LoadImageFromFileOrSkip'),
                  dict(type='LoadAnnotations', with_bbox=True),
                  dict(type='PackDetInputs')])
    bad = [i for i in range(len(ds)) if osp.basename(ds.get_data_info(i)['img_path']) == first]
    assert bad
    out = ds[bad[0]]
    assert osp.basename(out['data_samples'].img_path) != first
    assert LoadImageFromFileOrSkip.skipped[osp.join(str(root), 'train', first)] >= 1
