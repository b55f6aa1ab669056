"""The data doctor finds every planted defect and passes a clean set."""
import json
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import REPO, tool_in_process

DOCTOR = os.path.join(REPO, 'tools', 'analysis_tools', 'data_doctor.py')


def doctor(*args):
    res = subprocess.run([sys.executable, DOCTOR, *map(str, args)],
                         capture_output=True,
                         text=True,
                         timeout=300)
    return res.returncode, res.stdout + res.stderr


@pytest.fixture
def copy_of_synthetic(synthetic_root, tmp_path):
    root = tmp_path / 'ds'
    shutil.copytree(synthetic_root, root)
    return root


def test_clean_set_passes(synthetic_root):
    rc, out = doctor(f'{synthetic_root}/annotations/instances_attributes_train2020.json',
                     f'{synthetic_root}/train')
    assert rc == 0, out
    assert 'OK: 0 error(s)' in out and 'sleeve' in out


def test_finds_every_planted_defect(copy_of_synthetic):
    root = copy_of_synthetic
    ann = root / 'annotations' / 'instances_attributes_train2020.json'
    data = json.loads(ann.read_text())
    imgs, anns = data['images'], data['annotations']
    os.remove(root / 'train' / imgs[0]['file_name'])  # missing image
    (root / 'train' / 'nested').mkdir()  # one image one folder deeper
    shutil.move(str(root / 'train' / imgs[1]['file_name']), str(root / 'train' / 'nested'))
    cv2.imwrite(str(root / 'train' / imgs[2]['file_name']), np.zeros((10, 20, 3), np.uint8))
    (root / 'train' / imgs[3]['file_name']).write_bytes(b'not a jpeg')  # corrupt
    anns[0]['category_id'] = 77  # unknown category
    anns[1]['attribute_ids'] = [999]  # unknown attribute
    anns[2]['id'] = anns[3]['id']  # duplicate annotation id
    imgs[5]['id'] = imgs[4]['id']  # duplicate image id
    ann.write_text(json.dumps(data))
    rc, out = doctor(ann, root / 'train')
    assert rc == 1, out
    for needle in ('missing image', 'nested folder', "train/nested/'", 'size mismatch',
                   'is 20x10, the JSON says 320x320', 'unreadable image', 'unknown category_id 77',
                   '[999] not in the', f'duplicate annotation id {anns[3]["id"]}',
                   f'duplicate image id {imgs[4]["id"]}'):
        assert needle in out, (needle, out)


def test_subset_is_seeded_and_consistent(synthetic_root, tmp_path):
    ann = f'{synthetic_root}/annotations/instances_attributes_train2020.json'
    outs = []
    for name in ('a.json', 'b.json'):
        rc, msg = doctor(ann, '--subset', 5, '--random', '--seed', 3, '--out', tmp_path / name)
        assert rc == 0, msg
        outs.append(json.loads((tmp_path / name).read_text()))
    assert outs[0] == outs[1] and len(outs[0]['images']) == 5
    ids = {i['id'] for i in outs[0]['images']}
    assert outs[0]['annotations'] and all(a['image_id'] in ids for a in outs[0]['annotations'])
    assert outs[0]['attributes'] and outs[0]['categories']


@pytest.mark.parametrize('args,needle', [
    (['/nonexistent.json', '/tmp'], 'annotation file not found'),
    (['{bad}', '/tmp'], 'malformed JSON'),
])
def test_bad_input_one_line_error(tmp_path, args, needle):
    if args[0] == '{bad}':
        (tmp_path / 'bad.json').write_text('{"images": [')
        args = [str(tmp_path / 'bad.json'), args[1]]
    res = tool_in_process(DOCTOR, *args)
    out = res.stdout + res.stderr
    assert res.returncode == 2 and needle in out and 'Traceback' not in out


def test_nested_folder_hint_pasted_into_a_config_loads(synthetic_root, tmp_path):
    """The hint of the dataset and of the doctor is a config line relative to data_root: pasted
    into a config, the dataset loads."""
    import re

    from mmdet.registry import DATASETS
    from mmengine.config import Config

    from fashionpedia_plugin.datasets import FashionpediaDataError
    root = tmp_path / 'data'
    shutil.copytree(synthetic_root, root)
    shutil.move(str(root / 'test'), str(tmp_path / 'test'))  # unzip into test/ -> test/test/
    (root / 'test').mkdir()
    shutil.move(str(tmp_path / 'test'), str(root / 'test' / 'test'))
    base = dict(
        type='FashionpediaDataset',
        data_root=f'{root}/',
        test_mode=True,
        pipeline=[],
        ann_file='annotations/instances_attributes_val2020.json')
    with pytest.raises(FashionpediaDataError) as err:
        DATASETS.build(dict(base, data_prefix=dict(img='test/')))
    hint = re.search(r"(data_prefix=dict\(img='[^']*'\))", str(err.value)).group(1)
    assert hint == "data_prefix=dict(img='test/test/')"
    cfg = tmp_path / 'fixed.py'
    cfg.write_text(f'dataset = dict({", ".join(f"{k}={v!r}" for k, v in base.items())}, {hint})\n')
    assert len(DATASETS.build(Config.fromfile(str(cfg)).dataset)) == 6
    # the doctor gives the same line when told the data_root
    res = subprocess.run([
        sys.executable, f'{REPO}/tools/analysis_tools/data_doctor.py',
        str(root / 'annotations' / 'instances_attributes_val2020.json'),
        str(root / 'test'), '--data-root',
        str(root)
    ],
                         capture_output=True,
                         text=True)
    assert f'set {hint}' in res.stdout, res.stdout[-2000:]


def test_usable_and_skipped_counts_equal_in_doctor_and_training_log(synthetic_root, tmp_path):
    import re

    from mmdet.registry import DATASETS
    from mmengine.logging import MMLogger
    ann = json.load(
        open(os.path.join(synthetic_root, 'annotations', 'instances_attributes_train2020.json')))
    ann['annotations'][0]['bbox'][2] = 0  # zero width
    ann['annotations'][1]['segmentation'] = [[1, 2, 3, 4]]  # 2 points
    ann['annotations'][2]['bbox'] = [-500, -500, 10, 10]  # outside
    path = tmp_path / 'ann.json'
    path.write_text(json.dumps(ann))
    res = subprocess.run(
        [sys.executable, DOCTOR,
         str(path), os.path.join(synthetic_root, 'train')],
        capture_output=True,
        text=True)
    doctor_line = next(line for line in res.stdout.splitlines() if line.startswith('usable'))
    MMLogger.get_instance('fp-doctor-test', log_file=str(tmp_path / 'run.log'))  # 'current'
    DATASETS.build(
        dict(
            type='FashionpediaDataset',
            ann_file=str(path),
            data_prefix=dict(img=os.path.join(synthetic_root, 'train') + '/'),
            pipeline=[]))
    log = open(tmp_path / 'run.log').read()
    log_line = re.search(r'(usable instances: .*)', log).group(1)
    assert doctor_line == log_line
    assert 'skipped: 3 (' in doctor_line
