"""Safe by default: checkpoints load weights-only, hostile and damaged files end in one line,
importing the plugin replaces nothing, --cfg-options values are never code."""
import json
import os
import os.path as osp
import subprocess
import sys
import textwrap
import warnings

import pytest
import torch
from conftest import DEMO_CONFIG, REPO, SAMPLE_DIR, TOOLS, run, tiny_cfg_options


class _Hostile:
    """Unpickling this runs ``touch MARKER`` (``os.system``), as a tampered checkpoint would."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def _first_jpeg():
    """A real photo (the shared sample's), or a JPEG header when the sample is absent."""
    images = osp.join(SAMPLE_DIR, 'images')
    names = sorted(n for n in os.listdir(images) if n.endswith('.jpg')) \
        if osp.isdir(images) else []
    return open(osp.join(images, names[0]), 'rb').read() if names else \
        b'\xff\xd8\xff\xe0' + b'\0' * 64


@pytest.fixture(scope='module')
def bad_files(tmp_path_factory, trained):
    work, _ = trained
    d = tmp_path_factory.mktemp('bad')
    good = open(osp.join(work, 'iter_2.pth'), 'rb').read()
    marker = d / 'MARKER'
    files = dict(
        truncated=good[:len(good) // 2],
        jpeg=_first_jpeg(),
        empty=b'',
        json=json.dumps({
            'state_dict': {}
        }).encode())
    paths = {}
    for name, data in files.items():
        paths[name] = d / f'{name}.pth'
        paths[name].write_bytes(data)
    ckpt = torch.load(osp.join(work, 'iter_2.pth'), map_location='cpu', weights_only=True)
    ckpt['meta']['payload'] = _Hostile(marker)
    paths['hostile'] = d / 'hostile.pth'
    torch.save(ckpt, paths['hostile'])
    return paths, marker


CAUSES = dict(
    truncated='damaged or truncated',
    jpeg='not a PyTorch checkpoint (it is a JPEG image)',
    empty='the file is empty',
    json='not a PyTorch checkpoint (it is JSON text)',
    hostile='refused to unpickle posix.system: loading it could run code')


def _argv(tool, ckpt, synthetic_root, work):
    opts = ['--cfg-options', *tiny_cfg_options(synthetic_root, work)]
    if tool == 'test':
        return [DEMO_CONFIG, str(ckpt), '--work-dir', work, *opts]
    if tool == 'train':
        return [DEMO_CONFIG, '--resume', str(ckpt), '--work-dir', work, *opts]
    return [
        osp.join(synthetic_root, 'test'), DEMO_CONFIG,
        str(ckpt), '--out-dir', work, '--cfg-options', *tiny_cfg_options(synthetic_root, work)[-3:]
    ]


@pytest.mark.parametrize('kind', sorted(CAUSES))
@pytest.mark.parametrize('tool', ['test', 'train', 'infer'])
def test_bad_checkpoint_is_one_error_line(tool, kind, bad_files, synthetic_root, tmp_path, capsys):
    """In-process through each tool's own entry point (``run_cli``): exit 2, one ``error:``
    line naming the file and the cause, and the hostile pickle never runs."""
    from fashionpedia_plugin.toolkit.cli import run_cli
    from fashionpedia_plugin.toolkit.launch import test_main, train_main
    paths, marker = bad_files
    if tool == 'infer':
        sys.path.insert(0, TOOLS)
        try:
            import infer
        finally:
            sys.path.remove(TOOLS)
        main = infer.main
    else:
        main = dict(test=test_main, train=train_main)[tool]
    code = run_cli(main, _argv(tool, paths[kind], synthetic_root, str(tmp_path)))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith(f'error: checkpoint {paths[kind]}: {CAUSES[kind]}'), err[-1]
    if kind == 'hostile':
        assert '--trust-checkpoint' in err[-1]
    assert not marker.exists()


@pytest.mark.parametrize('tool', ['tools/test.py', 'tools/infer.py', 'tools/train.py'])
def test_hostile_checkpoint_from_the_command_line(tool, bad_files, synthetic_root, tmp_path):
    paths, marker = bad_files
    argv = _argv(tool.split('/')[-1][:-3], paths['hostile'], synthetic_root, str(tmp_path))
    res = run([sys.executable, osp.join(REPO, tool), *argv], check=False)
    assert res.returncode == 2, res.stderr[-2000:]
    assert res.stderr.strip().splitlines()[-1].startswith(
        f'error: checkpoint {paths["hostile"]}: refused to unpickle posix.system')
    assert 'Traceback' not in res.stderr
    assert not marker.exists()


def test_inferencer_refuses_and_trust_is_explicit(bad_files):
    from fashionpedia_plugin.apis import FashionpediaInferencer
    from fashionpedia_plugin.apis.checkpoint import (TRUST_ENV, CheckpointLoadError,
                                                     load_checkpoint_file)
    paths, marker = bad_files
    for kind in ('hostile', 'truncated'):
        with pytest.raises(CheckpointLoadError, match=CAUSES[kind].split(':')[0]):
            FashionpediaInferencer(DEMO_CONFIG, str(paths[kind]), device='cpu')
    assert not marker.exists()
    # asked for: the file is unpickled fully (and its code runs), for this load only
    assert TRUST_ENV not in os.environ
    ckpt = load_checkpoint_file(str(paths['hostile']), trust=True)
    assert marker.exists() and 'state_dict' in ckpt
    assert TRUST_ENV not in os.environ
    marker.unlink()


def test_our_checkpoints_load_weights_only_without_warnings(trained):
    """The tiny test config's checkpoint (the demo config, 2 iterations, validation included)
    holds nothing beyond torch's default allowlist: tensors, containers, numbers."""
    work, _ = trained
    for name in ('iter_2.pth', 'best_fashionpedia_segm_mAP_iter_2.pth'):
        path = osp.join(work, name)
        assert torch.serialization.get_unsafe_globals_in_checkpoint(path) == []
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            ckpt = torch.load(path, map_location='cpu', weights_only=True)
        assert ckpt['meta']['fashionpedia']['selected_on'].endswith(
            'instances_attributes_val2020.json')
        assert ckpt['message_hub']['log_scalars']['train/loss']['__history_buffer__']


def test_imagenet_style_state_dict_loads_weights_only(tmp_path):
    """Backbone checkpoints (torchvision/ImageNet: an OrderedDict of tensors) need nothing."""
    from mmdet.models.backbones import ResNet

    from fashionpedia_plugin.apis.checkpoint import load_checkpoint_file
    path = tmp_path / 'resnet18.pth'
    torch.save(ResNet(depth=18).state_dict(), path)
    state = load_checkpoint_file(str(path))
    assert 'conv1.weight' in state and state['conv1.weight'].shape == (64, 3, 7, 7)


IMPORT_PROBE = textwrap.dedent("""
    import torch, mmengine.dist.utils as du
    from mmengine.model import MMDistributedDataParallel
    from mmengine.runner.checkpoint import CheckpointLoader
    before = (torch.load, dict(CheckpointLoader._schemes), du._init_dist_pytorch,
              MMDistributedDataParallel.__init__)
    import fashionpedia_plugin
    from mmdet.utils import register_all_modules
    register_all_modules()
    after = (torch.load, dict(CheckpointLoader._schemes), du._init_dist_pytorch,
             MMDistributedDataParallel.__init__)
    print(before == after and before[1].keys() == after[1].keys()
          and all(before[1][k] is after[1][k] for k in before[1]))
""")


def test_importing_the_plugin_replaces_nothing():
    res = subprocess.run([sys.executable, '-c', IMPORT_PROBE],
                         capture_output=True,
                         text=True,
                         cwd=REPO,
                         timeout=300)
    assert res.stdout.strip().splitlines()[-1] == 'True', res.stdout + res.stderr[-2000:]


def test_cfg_options_values_are_never_code(tmp_path):
    from fashionpedia_plugin.toolkit.launch import train_parser
    marker = tmp_path / 'M'
    value = f"__import__('os').system('touch {marker}')"
    args = train_parser().parse_args([
        DEMO_CONFIG, '--cfg-options', f'work_dir={value}',
        f'model.test_cfg.rcnn.score_thr=[{value}]'
    ])
    from fashionpedia_plugin.toolkit.cli import load_config
    cfg = load_config(args.config, args.cfg_options)
    assert cfg.work_dir == value.replace(' ', '')  # a string (DictAction drops blanks)
    assert cfg.model.test_cfg.rcnn.score_thr == [value.replace(' ', '')]
    assert not marker.exists()
