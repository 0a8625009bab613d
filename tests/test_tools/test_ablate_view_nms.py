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


def test_ablate_view_ranges_remerge_by_hand(tmp_path):
    """One 200x200 image, GT 40x40 and 150x150 boxes. x1 view: both boxes exact (0.8, 0.7);
    x0.5 view: a false 60x60 box (30 px in the view, 0.9) and the large box again (75 px, 0.6).
    With the ISN range the false box survives (30 >= 16): precision of the small class drops.
    From 64 px on the coarse views it goes (30 < 64) and the large box (75 >= 64) stays."""
    import json
    import torch
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    from mmdet_scalenorm.models.test_time_augs import ScaleNormTTAModel
    mod = load_script('tools/analysis_tools/ablate_view_ranges.py')
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(dict(
        images=[dict(id=1, width=200, height=200, file_name='a.png')],
        categories=[dict(id=1, name='a')],
        annotations=[dict(id=1, image_id=1, category_id=1, bbox=[10, 10, 40, 40], area=1600,
                          iscrowd=0),
                     dict(id=2, image_id=1, category_id=1, bbox=[40, 40, 150, 150],
                          area=22500, iscrowd=0)])))

    def view(f, boxes, scores):
        s = DetDataSample(metainfo=dict(img_id=1, ori_shape=(200, 200), scale_factor=(f, f),
                                        flip=False))
        s.pred_instances = InstanceData(bboxes=torch.tensor(boxes, dtype=torch.float32),
                                        scores=torch.tensor(scores),
                                        labels=torch.zeros(len(scores), dtype=torch.long))
        return s

    from tests.test_models.test_test_time_augs.test_scalenorm_tta import EchoDetector
    tta = ScaleNormTTAModel(module=EchoDetector(), valid_range=(16, 560),
                            tta_cfg=dict(nms=mod.MERGES['linear'], max_per_img=100))
    store = [(1, [view(1.0, [[10, 10, 50, 50], [40, 40, 190, 190]], [0.8, 0.7]),
                  view(0.5, [[120, 10, 180, 70], [40, 40, 190, 190]], [0.9, 0.6])])]
    # linear soft-NMS: the x0.5 copy of the large box (IoU 1 with the x1 one) decays to 0 and goes
    plain = mod.remerge(tta, store, None, 'linear')
    dets = [(round(float(sc), 3), [round(x) for x in b])
            for m in plain for b, sc in zip(m.pred_instances.bboxes.tolist(),
                                           m.pred_instances.scores.tolist())]
    assert sorted(d[0] for d in dets) == [0.7, 0.8, 0.9]
    assert [120, 10, 180, 70] in [d[1] for d in dets]
    tuned = mod.remerge(tta, store, 64, 'linear')
    assert sorted(round(float(x), 3) for m in tuned for x in m.pred_instances.scores) == [0.7, 0.8]
    assert tta.tta_cfg.nms == mod.MERGES['linear']  # restored after the sweep
    assert store[0][1][1].metainfo.get('valid_range') is None  # the recorded views are unchanged
    evaluator = dict(type='ScaleRangeCocoMetric', ann_file=str(ann), metric='bbox',
                     restrict_to_results=True)
    meta = dict(classes=('a', ))
    m_plain = mod.evaluate(evaluator, meta, plain)
    m_tuned = mod.evaluate(evaluator, meta, tuned)
    assert m_tuned['AP'] == pytest.approx(1.0, abs=1e-6)
    # ranked FP (0.9), TP, TP: precision 2/3 at every recall level (interpolated) -> AP 2/3
    # (CocoMetric rounds to 3 decimals); both GT (40 and 150 px) lie in [16, 560]
    assert m_plain['AP'] == pytest.approx(0.667, abs=1e-6)
    assert m_plain['AP[16,560]'] == pytest.approx(0.667, abs=1e-6)
    assert m_plain['AR[16,560]'] == m_tuned['AR[16,560]'] == pytest.approx(1.0, abs=1e-6)
    assert m_plain['APs'] == -1.0  # no GT below 32 px: COCO's -1, kept as the metric gives it


def test_ablate_view_ranges_records_the_views_once_and_reproduces_the_tta_run(tmp_path):
    """End to end with the published ISN model on 3 tune-split images: every image is recorded
    once with its 5 views, the recording stops with the TTA run (the re-merges record nothing),
    and re-merging the recorded views with the config's ranges and merge reproduces the TTA run's
    own metrics exactly."""
    import json
    mod = load_script('tools/analysis_tools/ablate_view_ranges.py')
    ckpt = load_script('tools/misc/download_checkpoint.py').main(
        ['isn-faster-rcnn_r18-tiny_fpn_1xb4-2k_synthetic', '--dest', str(tmp_path / 'ckpt'),
         '--no-progress'])
    from mmdet_scalenorm.datasets.synthetic import generate_synthetic_coco
    data = generate_synthetic_coco(str(tmp_path / 'tune'), preset='demo', seed=1, num_train=1,
                                   num_val=3, progress=False)
    out = tmp_path / 'sweep.md'
    rows = mod.main([osp.join(REPO, 'configs', 'synthetic',
                              'isn-faster-rcnn_r18-tiny_fpn_1xb4-2k_synthetic.py'), ckpt,
                     '--data-root', data['data_root'], '--num-val', '3', '--coarse-lo', '64',
                     '--merges', 'linear', '--work-dir', str(tmp_path / 'work'),
                     '--out', str(out)])
    res = json.loads(out.with_suffix('.json').read_text())
    assert len(res['images']) == len(set(res['images'])) == 3
    assert [n for n, _ in rows] == ["config's ranges, linear merge",
                                    'x0.5/x0.25 from 64 px, linear merge']
    run = {k.split('/')[-1]: v for k, v in res['tta_metrics'].items()}
    assert run['bbox_mAP'] > 0.1  # a trained model: the equality below is not 0 == 0
    for col, key in mod.KEYS:
        assert rows[0][1][col] == pytest.approx(run[key], abs=1e-9), col
    assert out.read_text().count('\n') == 4  # header, rule, 2 rows


def test_ablate_view_ranges_refuses_the_reported_benchmark():
    mod = load_script('tools/analysis_tools/ablate_view_ranges.py')
    with pytest.raises(SystemExit):
        mod.parse_args(['c.py', 'k.pth', '--data-seed', '0'])
    args = mod.parse_args(['c.py', 'k.pth'])
    assert args.data_seed == 1 and args.coarse_lo == [32, 48, 64, 96, 128]
