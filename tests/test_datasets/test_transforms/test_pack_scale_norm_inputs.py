"""PackScaleNormInputs: PackDetInputs whose defaults keep the scale metadata (valid_range, chip)."""
import numpy as np
import pytest

from mmdet.datasets.transforms import PackDetInputs
from mmdet.registry import TRANSFORMS

import mmdet_scalenorm  # noqa: F401
from mmdet_scalenorm.datasets.transforms.formatting import DET_META_KEYS, PackScaleNormInputs


def results(**extra):
    return dict(img=np.zeros((8, 10, 3), np.uint8), img_id=3, img_path='a.jpg', ori_shape=(8, 10),
                img_shape=(8, 10), scale_factor=(1.0, 1.0), flip=False, flip_direction=None,
                gt_bboxes=np.array([[0, 0, 4, 4], [1, 1, 9, 7]], np.float32),
                gt_bboxes_labels=np.array([0, 1]), gt_ignore_flags=np.array([False, True]),
                **extra)


def test_defaults_are_pack_det_inputs_plus_scale_keys():
    assert DET_META_KEYS == PackDetInputs().meta_keys
    pack = TRANSFORMS.build(dict(type='PackScaleNormInputs'))
    assert isinstance(pack, PackScaleNormInputs)
    extra = dict(valid_range=(16.0, 560.0), valid_range_info=dict(range=(16, 560)),
                 chip=np.array([0, 0, 576, 576], np.float32), chip_type='pos')
    out = pack(results(**extra))['data_samples']
    assert out.valid_range == (16.0, 560.0) and out.chip_type == 'pos'
    np.testing.assert_array_equal(out.chip, extra['chip'])
    # everything else is PackDetInputs' own packing
    ref = PackDetInputs(meta_keys=pack.meta_keys)(results(**extra))['data_samples']
    assert ref.metainfo.keys() == out.metainfo.keys()
    assert len(out.gt_instances) == 1 and len(out.ignored_instances) == 1


def test_missing_keys_are_skipped_like_pack_det_inputs():
    out = PackScaleNormInputs()(results())['data_samples']
    assert 'valid_range' not in out.metainfo and out.img_id == 3


def test_explicit_meta_keys_replace_the_default():
    pack = PackScaleNormInputs(meta_keys=('img_id', ))
    assert pack.meta_keys == ('img_id', )
    with pytest.raises(TypeError):
        PackScaleNormInputs(bad_key=1)
