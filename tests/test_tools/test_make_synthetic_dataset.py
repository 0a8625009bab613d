"""The synthetic benchmark CLI (tools/misc/make_synthetic_dataset.py) and its error messages."""
import importlib.util
import json
import os.path as osp

import pytest

from mmdet_scalenorm.datasets.synthetic import generate_synthetic_coco, verify_synthetic_coco

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_spec = importlib.util.spec_from_file_location(
    'make_synthetic_dataset', osp.join(REPO, 'tools', 'misc', 'make_synthetic_dataset.py'))
cli = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cli)


def test_cli_writes_then_reuses(tmp_path, capsys):
    out = str(tmp_path / 'syn')
    args = [out, '--preset', 'tiny', '--seed', '3', '--num-train', '2', '--num-val', '1',
            '--img-size-range', '128', '160', '--no-progress', '--verify']
    res = cli.main(args)
    text = capsys.readouterr().out
    assert not res['cached'] and 'wrote synthetic benchmark' in text
    assert 'train: 2 images' in text and 'val: 1 images' in text and 'verified' in text
    with open(res['train_ann']) as f:
        assert [im['height'] <= 160 for im in json.load(f)['images']] == [True, True]
    same = generate_synthetic_coco(out, preset='tiny', seed=3, num_train=2, num_val=1,
                                   img_size_range=(128, 160), progress=False)
    assert same['cached']
    assert cli.main(args)['cached'] and 'reused' in capsys.readouterr().out


def test_cli_errors(tmp_path):
    blocker = tmp_path / 'afile'
    blocker.write_text('x')
    with pytest.raises(SystemExit, match='afile'):
        cli.main([str(blocker / 'sub'), '--preset', 'tiny', '--no-progress'])
    with pytest.raises(SystemExit, match='num_train'):
        cli.main([str(tmp_path / 'o'), '--preset', 'tiny', '--num-train', '0'])
    with pytest.raises(SystemExit, match='preset'):
        cli.main([str(tmp_path / 'o'), '--preset', 'nope'])


def test_verify_names_the_bad_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing'):
        verify_synthetic_coco(str(tmp_path / 'missing'))
    d = generate_synthetic_coco(str(tmp_path / 'd'), num_train=2, num_val=1, progress=False)
    assert verify_synthetic_coco(d['data_root'])['train_images'] == 2
    bad_img = osp.join(d['train_img'], '000001.jpg')
    with open(bad_img, 'wb') as f:
        f.write(b'not a jpeg')
    with pytest.raises(ValueError, match='000001.jpg.*decode'):
        verify_synthetic_coco(d['data_root'])
    # the cache sees the damaged image and regenerates it
    again = generate_synthetic_coco(str(tmp_path / 'd'), num_train=2, num_val=1, progress=False)
    assert not again['cached']
    verify_synthetic_coco(d['data_root'])
    with open(d['val_ann'], 'w') as f:
        f.write('[1, 2]')
    with pytest.raises(ValueError, match='instances_val.json.*not COCO'):
        verify_synthetic_coco(d['data_root'])
