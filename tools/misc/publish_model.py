"""Publish a training checkpoint for the model zoo (MMDetection's convention).

Keeps ``meta`` and ``state_dict`` (drops the optimizer, parameter schedulers and message hub),
optionally stores the floating tensors as float16 (loading into a float32 model upcasts them),
and names the file ``<NAME>_<YYYYMMDD>-<sha256[:8]>.pth``; ``--log`` copies the run's json
scalars log (``vis_data/scalars.json``) as ``<NAME>_<YYYYMMDD>.log.json``. The logic is
``mmdet_scalenorm.utils.model_zoo.publish_checkpoint``.

Example::

    python tools/misc/publish_model.py work_dirs/isn-faster-rcnn_r50_fpn_18e_coco/epoch_18.pth \\
        publish/ --config isn-faster-rcnn_r50_fpn_18e_coco \\
        --log work_dirs/isn-faster-rcnn_r50_fpn_18e_coco

Then put the printed ``Weights`` URL and ``Weights SHA256`` into the model's metafile entry,
add its ``Results`` and run ``python tools/misc/gen_model_zoo.py``.
"""
import argparse
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('in_file', help='checkpoint written by training (e.g. epoch_18.pth)')
    p.add_argument('out_dir', help='folder of the published files (created)')
    p.add_argument('--config', required=True,
                   help='config name the file is named after (a metafile model Name)')
    p.add_argument('--fp16', action='store_true', help='store floating tensors as float16')
    p.add_argument('--log', help="the run's work dir, timestamp folder or json scalars log")
    p.add_argument('--date', help='YYYYMMDD of the file names (default: today)')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmdet_scalenorm.utils.model_zoo import ModelZooError, publish_checkpoint
    if not osp.isfile(args.in_file):
        raise SystemExit(f'checkpoint not found: {args.in_file}')
    try:
        res = publish_checkpoint(args.in_file, args.out_dir, args.config, fp16=args.fp16,
                                 log=args.log, date=args.date)
    except ModelZooError as e:
        raise SystemExit(f'error: {e}')
    if res['dropped']:
        print(f"dropped keys: {', '.join(res['dropped'])}")
    print(f"published: {res['checkpoint']}")
    if res['log']:
        print(f"log:       {res['log']}")
    print('metafile entry:')
    print(f"    Weights: <URL>/{osp.basename(res['checkpoint'])}")
    print(f"    Weights SHA256: {res['sha256']}")
    return res


if __name__ == '__main__':
    main()
