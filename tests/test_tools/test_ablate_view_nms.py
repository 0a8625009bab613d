"""tools/analysis_tools/ablate_view_nms.py: each variant evaluates the checkpoint with its own
per-view R-CNN NMS; the table lists them in order with the metrics evaluate returned."""
import json
import os.path as osp

import pytest
import torch

from tests._tiny_config import REPO, load_script

ISN_CFG = osp.join(REPO, 'configs', 'synthetic',
                   'isn-faster-rcnn_r18-tiny_fpn_1xb4-1k_synthetic.py')


def load_tool():
    return load_script('tools/analysis_tools/ablate_view_nms.py')


def test_variants_reach_the_model_test_cfg(tmp_path, synthetic_tiny, monkeypatch):
    import mmdet_scalenorm.apis.experiment as experiment
    tool = load_tool()
    seen = []

    def fake_evaluate(cfg, ckpt, tta=False, num_images=None):
        seen.append((dict(cfg.model.test_cfg.rcnn.nms), tta, num_images, ckpt))
        ap = 0.1 * len(seen)
        return {'coco/bbox_mAP': ap, 'coco/bbox_mAP_50': 0.5, 'coco/bbox_mAP_s': -1.0}
    monkeypatch.setattr(experiment, 'evaluate', fake_evaluate)
    ckpt = tmp_path / 'x.pth'
    ckpt.write_bytes(b'')
    out = tmp_path / 'abl.json'
    tool.main([ISN_CFG, str(ckpt), '--data-root', synthetic_tiny['data_root'], '--preset', 'tiny',
               '--data-seed', '0', '--num-val', '3', '--out', str(out),
               '--variants', 'nms 0.5', 'soft-NMS gaussian 0.55'])
    assert [s[0] for s in seen] == [tool.VARIANTS['nms 0.5'],
                                    tool.VARIANTS['soft-NMS gaussian 0.55']]
    assert all(s[1] is True and s[2] == 3 and s[3] == str(ckpt) for s in seen)
    res = json.loads(out.read_text())
    rows = res['table'].splitlines()[2:]
    assert rows[0].startswith('| nms 0.5 | 10.0 | 50.0 | n/a |')
    assert rows[1].startswith('| soft-NMS gaussian 0.55 | 20.0 | 50.0 | n/a |')


def test_real_single_scale_run_and_missing_checkpoint(tmp_path, synthetic_tiny):
    from mmdet.apis import init_detector
    from mmdet.utils import register_all_modules
    from mmdet_scalenorm.apis.experiment import load_experiment_config
    register_all_modules()
    tool = load_tool()
    with pytest.raises(SystemExit, match='checkpoint not found'):
        tool.main([ISN_CFG, str(tmp_path / 'missing.pth')])
    cfg = load_experiment_config(ISN_CFG, synthetic_tiny['data_root'], str(tmp_path / 'w'))
    torch.manual_seed(0)
    model = init_detector(cfg, None, device='cpu')
    ckpt = tmp_path / 'random.pth'
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    out = tmp_path / 'abl.json'
    tool.main([ISN_CFG, str(ckpt), '--data-root', synthetic_tiny['data_root'], '--preset', 'tiny',
               '--data-seed', '0', '--num-val', '2', '--single-scale', '--out', str(out),
               '--variants', 'soft-NMS linear 0.5', '--work-dir', str(tmp_path / 'work')])
    res = json.loads(out.read_text())
    m = res['metrics']['soft-NMS linear 0.5']
    assert {'bbox_mAP', 'bbox_mAP_16-560'} <= set(m) and not res['tta']
