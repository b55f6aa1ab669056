"""Every tool answers bad input with one error line and a non-zero exit code (toolkit/cli.py)."""
import importlib.util
import json
import os.path as osp
import sys

import pytest
import torch
from conftest import DEMO_CONFIG, REPO, TOOLS, run, tool_in_process


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


CLI_CASES = {
    'train-missing-config': (['train.py', '/nope.py'], 'config file not found'),
    'train-not-python': (['train.py', '{json}'], 'must be a Python config'),
    'train-missing-resume':
    (['train.py', DEMO_CONFIG, '--work-dir', '{tmp}', '--resume',
      '/nope.pth'], 'checkpoint to resume from not found'),
    'test-missing-ckpt': (['test.py', DEMO_CONFIG, '/nope.pth'], 'checkpoint not found'),
    'test-bad-out': (['test.py', DEMO_CONFIG, __file__, '--out',
                      'x.txt'], '--out must end with .json or .pkl'),
    'doctor-missing': (['analysis_tools/data_doctor.py', '/nope.json',
                        '/tmp'], 'annotation file not found'),
    'doctor-empty': (['analysis_tools/data_doctor.py', '{empty}',
                      '/tmp'], "missing top-level key(s) ['images', 'annotations', 'categories']"),
    'eval-missing': (['analysis_tools/fashionpedia_eval.py', '/nope.json',
                      '/nope2.json'], 'annotation file not found'),
    'eval-empty-results': (['analysis_tools/fashionpedia_eval.py', '{ann}',
                            '{emptylist}'], 'no results to evaluate'),
    'eval-wrong-format': (['analysis_tools/fashionpedia_eval.py', '{ann}',
                           '{json}'], 'expected a JSON list of results'),
    'eval-pickle':
    (['analysis_tools/fashionpedia_eval.py', '{ann}',
      '{pkl}'], 'not a UTF-8 JSON file (\'utf-8\' codec can\'t decode byte 0x80 in position 0: '
     'invalid start byte); a pickle of mmdet\'s raw results is not read (nothing is '
     'unpickled): write the JSON with tools/test.py --out x.json'),
    'analyze-missing': (['analysis_tools/analyze_logs.py', '/nope'], 'not found'),
    'analyze-garbage': (['analysis_tools/analyze_logs.py', '{garbage}'], 'not a JSON line'),
    'diff-missing': (['analysis_tools/config_diff.py', DEMO_CONFIG,
                      '/nope.py'], 'config file not found'),
    'infer-missing': (['infer.py', '/nope/*.jpg', DEMO_CONFIG, __file__], 'no images found'),
    'sheet-bad-ending':
    (['analysis_tools/tryon_sheet.py', '{tmp}', 'x', '{tmp}/o.txt',
      '--overview'], 'must end with .png or .jpg or .jpeg'),
}


def _pickle(path):
    import pickle
    path.write_bytes(pickle.dumps([{'img_id': 1}]))
    return str(path)


@pytest.mark.parametrize('case', sorted(CLI_CASES))
def test_cli_bad_inputs_one_line_error(case, tmp_path, synthetic_root):
    args, needle = CLI_CASES[case]
    subs = {
        '{tmp}': str(tmp_path),
        '{json}': _write(tmp_path, 'c.json', '{"a": 1}'),
        '{empty}': _write(tmp_path, 'e.json', '{}'),
        '{emptylist}': _write(tmp_path, 'l.json', '[]'),
        '{pkl}': _pickle(tmp_path / 'preds.pkl'),
        '{garbage}': _write(tmp_path, 'scalars.json', 'this is not json\n'),
        '{ann}': osp.join(synthetic_root, 'annotations', 'instances_attributes_val2020.json'),
    }
    args = [subs.get(a, a) for a in args]
    # in this process (the tool's own __main__; test_a_variable_already_copied... below and
    # the other files start real processes)
    res = tool_in_process(osp.join(TOOLS, args[0]), *args[1:])
    assert res.returncode != 0
    assert needle in res.stderr, res.stderr[-2000:]
    assert 'Traceback' not in res.stderr
    assert len([ln for ln in res.stderr.splitlines() if ln.startswith('error:')]) == 1


def test_data_root_flag_reaches_every_loader_and_evaluator():
    from fashionpedia_plugin.toolkit.cli import load_config
    cfg = load_config(DEMO_CONFIG, data_root='/elsewhere/fp')
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[name].dataset.data_root == '/elsewhere/fp/'
    for name in ('val_evaluator', 'test_evaluator'):
        assert cfg[name].ann_file == '/elsewhere/fp/annotations/instances_attributes_val2020.json'
        assert cfg[name].attr_decoder.prior == \
            '/elsewhere/fp/annotations/instances_attributes_train2020.json'
    assert cfg.visualizer.attr_decoder.prior == cfg.val_evaluator.attr_decoder.prior


def test_a_variable_already_copied_is_an_error_naming_the_copies():
    res = run(
        [sys.executable, f'{TOOLS}/train.py', DEMO_CONFIG, '--cfg-options', 'data_root=/other/'],
        check=False)
    err = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(err) == 1, res.stderr
    assert err[0].startswith('error: --cfg-options data_root=/other/ changes only the variable')
    for key in ('train_dataloader.dataset.data_root', 'val_evaluator.ann_file'):
        assert key in err[0]
    assert 'Use --data-root DIR' in err[0]


PAPER_1X = osp.join(REPO, 'configs', 'attr-mask-rcnn',
                    'attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py')


@pytest.mark.skipif(
    importlib.util.find_spec('torchvision') is not None,
    reason='torchvision is installed: the torchvision:// backbone loads')
def test_paper_config_without_torchvision_fails_before_building_anything(tmp_path):
    res = tool_in_process(osp.join(TOOLS, 'train.py'), PAPER_1X, '--work-dir', str(tmp_path))
    assert res.returncode == 2 and 'Traceback' not in res.stderr
    assert 'torchvision://resnet50, which needs torchvision' in res.stderr, res.stderr[-2000:]
    assert not list(tmp_path.iterdir())  # nothing built, not even the runner's log folder


@pytest.mark.skipif(torch.cuda.is_available(), reason='AMP trains on this CUDA device')
def test_amp_without_cuda_is_one_line(tmp_path):
    res = tool_in_process(
        osp.join(TOOLS, 'train.py'), DEMO_CONFIG, '--amp', '--work-dir', str(tmp_path))
    assert res.returncode == 2 and 'Traceback' not in res.stderr
    assert 'AMP (--amp or AmpOptimWrapper) trains on a CUDA device only' in res.stderr


def test_tools_create_the_folder_of_what_they_write(tmp_path, synthetic_root):
    ann = osp.join(synthetic_root, 'annotations', 'instances_attributes_val2020.json')
    out = tmp_path / 'new' / 'deeper' / 'sub.json'
    res = tool_in_process(
        osp.join(TOOLS, 'analysis_tools', 'data_doctor.py'), ann, '--subset', '2', '--out',
        str(out))
    assert res.returncode == 0, res.stderr[-2000:]
    assert len(json.loads(out.read_text())['images']) == 2
    prior = tmp_path / 'p' / 'prior.json'
    res = tool_in_process(
        osp.join(TOOLS, 'analysis_tools', 'build_attribute_prior.py'), ann, '--out', str(prior))
    assert res.returncode == 0 and prior.is_file(), res.stderr[-2000:]


def test_data_root_on_a_concat_dataset_is_one_line(tmp_path):
    """mmengine's ConcatDataset takes no data_root: --data-root set one on it and the build
    failed with a TypeError traceback after the config was read; now one line saying how."""
    from conftest import derived_config

    from fashionpedia_plugin.toolkit.cli import CLIError, load_config
    cfg = derived_config(
        tmp_path, "train_dataloader = dict(dataset=dict(_delete_=True, type='ConcatDataset', "
        "datasets=[_base_.train_dataloader.dataset, _base_.train_dataloader.dataset]))\n")
    with pytest.raises(CLIError) as e:
        load_config(str(cfg), data_root=str(tmp_path))
    assert str(e.value) == (
        '--data-root and the data flags point one dataset at a folder, but train_dataloader.'
        'dataset is a ConcatDataset of 2: set each one with --cfg-options train_dataloader.'
        'dataset.datasets.0.data_root=DIR ... (or .ann_file=FILE)')
    assert load_config(str(cfg)).train_dataloader.dataset.type == 'ConcatDataset'
