"""A published model-zoo checkpoint, fetched as the README says (download_checkpoint.py by name:
the shipped float16 copy, hash-checked), tested with ``tools/test.py --tta`` as the model zoo
says, reproduces the AP of the training run's own float32 checkpoint on the same images.

The benchmark's first validation images are regenerated (image ``i`` does not depend on the
split sizes), so the subset is exactly the zoo's images 1..N.
"""
import os.path as osp
import re
import subprocess
import sys

import pytest

from tests._tiny_config import REPO, load_script

NUM_IMAGES = 8
# (model, {metric: AP (%) of the float32 checkpoint of the same run}) with this test's command on
# the first 8 validation images of the demo benchmark (data seed 0), measured on the 2-core CPU
# machine: the ISN Faster R-CNN 2k model (results/compare_methods/isn/seed0_it2000/iter_2000.pth,
# not committed; 2026-12-02) and the ISN Mask R-CNN fine-tuned from the pretrained backbone
# (results/compare_methods/instance/isn-pre/seed0_it1000/iter_1000.pth, not committed; 2026-12-07)
FP32_SUBSET_AP = [
    ('isn-faster-rcnn_r18-tiny_fpn_1xb4-2k_synthetic', dict(bbox=46.7)),
    ('isn-mask-rcnn_r18-tiny-pre_fpn_1xb4-1k_synthetic', dict(bbox=51.8, segm=47.1)),
]


@pytest.mark.parametrize('name,fp32_ap', FP32_SUBSET_AP, ids=[n for n, _ in FP32_SUBSET_AP])
def test_downloaded_fp16_checkpoint_reproduces_the_float32_ap(name, fp32_ap, tmp_path):
    from mmdet_scalenorm.datasets.synthetic import generate_synthetic_coco
    from mmdet_scalenorm.utils.model_zoo import find_model
    data = generate_synthetic_coco(str(tmp_path / 'synthetic'), preset='demo', seed=0,
                                   num_train=1, num_val=NUM_IMAGES, progress=False)
    ckpt = load_script('tools/misc/download_checkpoint.py').main(
        [name, '--dest', str(tmp_path / 'ckpt'), '--no-progress'])
    entry = find_model(name)
    test_args = entry.metadata['Test Args'].split()  # the zoo's test of this model
    assert test_args == ['--tta']
    root = data['data_root'] + '/'
    opts = [f'test_dataloader.dataset.data_root={root}', 'test_dataloader.num_workers=0',
            'test_dataloader.persistent_workers=False',
            f'test_evaluator.ann_file={data["val_ann"]}']
    p = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'test.py'), entry.config_path,
                        ckpt, *test_args, '--work-dir', str(tmp_path / 'work'), '--cfg-options',
                        *opts], cwd=REPO, capture_output=True, text=True, timeout=900)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-4000:]
    for metric, expected in fp32_ap.items():
        ap = 100 * float(re.findall(rf'coco/{metric}_mAP: ([0-9.]+)', out)[-1])
        assert abs(ap - expected) <= 0.1 + 1e-9, (metric, ap, expected)
