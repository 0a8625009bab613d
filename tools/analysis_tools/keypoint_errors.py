"""How far a Keypoint R-CNN's keypoints are from the GT, against a mean-pose prior.

Runs CONFIG + CHECKPOINT single-scale (``--tta``: the config's multi-scale test) on the first
``--num-val`` validation images, matches each GT instance with labelled keypoints to a detection
of its class (box IoU >= 0.5, greedy by score) and prints, for the model and for the training
set's mean pose placed in the same detected box (what a head that learned nothing but the
average pose would give): the median keypoint error in units of the GT's sqrt(w*h), the median
OKS, the share of instances with OKS >= 0.5 / 0.75, and the mean signed error in x / y
(rules: :mod:`mmdet_scalenorm.analysis.keypoint_errors`).

Usage:
    python tools/analysis_tools/keypoint_errors.py CONFIG CHECKPOINT [--num-val N] [--tta]
        [--data-root DIR] [--device cpu|cuda]
"""
import argparse
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--num-val', type=int, default=None, help='first N validation images')
    p.add_argument('--tta', action='store_true', help="the config's multi-scale test")
    p.add_argument('--data-root', default=None,
                   help="the benchmark's folder (default: the config's data_root)")
    p.add_argument('--device', default='cpu')
    return p.parse_args(argv)


def _xyxy(b):
    return [b[0], b[1], b[0] + b[2], b[1] + b[3]]


def main(argv=None):
    args = parse_args(argv)
    import numpy as np
    from mmengine.utils import ProgressBar
    from pycocotools.coco import COCO
    import mmdet_scalenorm  # noqa: F401
    from mmdet_scalenorm.analysis import load_config
    from mmdet_scalenorm.analysis.keypoint_errors import (match_detections, mean_pose,
                                                          place_pose, summarize_errors)
    from mmdet_scalenorm.apis import inference_scalenorm, init_scalenorm_detector
    from mmdet_scalenorm.utils import allow_full_checkpoint_load, set_data_root
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint not found: {args.checkpoint}')
    cfg = load_config(args.config)
    if args.data_root:
        cfg = set_data_root(cfg, args.data_root)
    ds = cfg.test_dataloader.dataset
    root = ds.data_root
    val = COCO(osp.join(root, ds.ann_file))
    train_ds = cfg.train_dataloader.dataset
    while 'dataset' in train_ds:
        train_ds = train_ds.dataset
    train = COCO(osp.join(train_ds.data_root, train_ds.ann_file))
    sigmas = np.asarray(ds.metainfo['sigmas'], np.float64)
    classes = list(ds.metainfo['classes'])
    kp_cats = [c['id'] for c in val.loadCats(val.getCatIds()) if c.get('keypoints')]
    if not kp_cats:
        raise SystemExit(f'{ds.ann_file}: no category with keypoints')
    cat_name = {c['id']: c['name'] for c in val.loadCats(kp_cats)}

    def labelled(coco, img_ids):
        return [a for a in coco.loadAnns(coco.getAnnIds(imgIds=img_ids, catIds=kp_cats,
                                                        iscrowd=False))
                if np.any(np.asarray(a['keypoints']).reshape(-1, 3)[:, 2] > 0)]

    ref = labelled(train, train.getImgIds())
    pose = mean_pose(np.array([_xyxy(a['bbox']) for a in ref]),
                     np.array([np.reshape(a['keypoints'], (-1, 3)) for a in ref]))
    allow_full_checkpoint_load()
    model = init_scalenorm_detector(cfg, args.checkpoint, device=args.device, tta=args.tta)
    img_ids = sorted(val.getImgIds())[:args.num_val]
    gt_b, gt_k, areas, pred, prior = [], [], [], [], []
    found = total = 0
    bar = ProgressBar(len(img_ids))
    for img_id in img_ids:
        info = val.loadImgs(img_id)[0]
        anns = labelled(val, [img_id])
        res = inference_scalenorm(model, osp.join(root, ds.data_prefix['img'],
                                                  info['file_name'])).pred_instances
        for cat in kp_cats:
            mine = [a for a in anns if a['category_id'] == cat]
            keep = (res.labels == classes.index(cat_name[cat])).cpu().numpy()
            boxes = np.array([_xyxy(a['bbox']) for a in mine]).reshape(-1, 4)
            det_boxes = res.bboxes.cpu().numpy()[keep]
            det_kps = res.keypoints.cpu().numpy()[keep]
            match = match_detections(boxes, det_boxes, res.scores.cpu().numpy()[keep])
            total += len(mine)
            for a, box, d in zip(mine, boxes, match):
                if d < 0:
                    continue
                found += 1
                gt_b.append(box)
                gt_k.append(np.reshape(a['keypoints'], (-1, 3)))
                areas.append(a['area'])
                pred.append(det_kps[d, :, :2])
                prior.append(place_pose(pose, det_boxes[d:d + 1])[0])
        bar.update()
    sys.stdout.write('\n')
    if not found:
        raise SystemExit(f'no GT instance with keypoints matched a detection '
                         f'({total} instances on {len(img_ids)} images)')
    s = summarize_errors(np.array(gt_b), np.array(gt_k), np.array(areas), np.array(pred),
                         np.array(prior), sigmas)
    print(f'{osp.basename(args.checkpoint)}: {found} of {total} instances with labelled '
          f'keypoints matched (IoU >= 0.5) on {len(img_ids)} images, '
          f'{"multi-scale" if args.tta else "single-scale"} test; errors in units of the GT '
          f"box's sqrt(w*h)")
    print('| keypoints from | median error | median OKS | OKS >= 0.5 | OKS >= 0.75 | '
          'mean dx | mean dy |')
    print('|---|---|---|---|---|---|---|')
    for name, label in (('model', 'the model'), ('prior', 'mean pose in the detected box')):
        print(f"| {label} | {s[name + '_median_error']:.3f} | {s[name + '_median_oks']:.3f} | "
              f"{100 * s[name + '_oks_ge_0.5']:.1f}% | {100 * s[name + '_oks_ge_0.75']:.1f}% | "
              f"{s[name + '_mean_dx']:+.3f} | {s[name + '_mean_dy']:+.3f} |")
    return s


if __name__ == '__main__':
    main()
