"""A checkpoint that does not fit the model stops tools/test.py, tools/infer.py and load_from
before anything runs (apis/checkpoint.py), in one line; --allow-partial loads it loudly."""
import os
import os.path as osp
import re

import pytest
import torch
from conftest import DEMO_CONFIG, REPO, TOOLS, tiny_cfg_options, tool

from fashionpedia_plugin.apis.checkpoint import (CheckpointMismatchError, check_checkpoint,
                                                 compare_state_dicts)

PLAIN_DEMO = osp.join(REPO, 'configs', 'demo',
                      'mask-rcnn_r18_fpn_demo-520it_synthetic-fashionpedia.py')
R50 = osp.join(REPO, 'configs', 'attr-mask-rcnn', 'attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py')


def _model(config):
    from mmdet.registry import MODELS
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None
    return MODELS.build(cfg.model)


def test_compare_finds_missing_unexpected_and_reshaped():
    model = {'a': torch.zeros(2), 'b': torch.zeros(3), 'bn.num_batches_tracked': torch.zeros(())}
    ckpt = {'a': torch.zeros(2), 'b': torch.zeros(4), 'c': torch.zeros(1)}
    missing, unexpected, mismatched = compare_state_dicts(model, ckpt)
    assert missing == [] and unexpected == ['c'] and mismatched == [('b', (4, ), (3, ))]


def test_attribute_checkpoint_into_a_plain_config(trained, tmp_path):
    ckpt = osp.join(trained[0], 'iter_2.pth')
    model = _model(PLAIN_DEMO)
    with pytest.raises(CheckpointMismatchError, match='has an attribute head') as e:
        check_checkpoint(model, ckpt)
    assert 'attr-mask-rcnn_r18_fpn_demo-520it_synthetic-fashionpedia' in str(e.value)
    assert 'Use an attr-mask-rcnn config' in str(e.value)
    assert check_checkpoint(model, ckpt, allow_partial=True).startswith('checkpoint')
    assert check_checkpoint(_model(DEMO_CONFIG), ckpt) is None  # the right config fits


def test_test_tool_stops_before_inference(trained, synthetic_root, tmp_path):
    ckpt = osp.join(trained[0], 'iter_2.pth')
    opts = tiny_cfg_options(synthetic_root, str(tmp_path))
    res = tool(
        f'{TOOLS}/test.py',
        R50,
        ckpt,
        '--work-dir',
        tmp_path,
        '--cfg-options',
        'model.backbone.init_cfg=None',
        *[o for o in opts if 'evaluator' not in o and not o.startswith('train_cfg')],
        check=False)
    err = res.stderr.strip().splitlines()
    assert res.returncode == 2 and err[-1].startswith('error: checkpoint')
    assert 'of another shape (first: backbone' in err[-1] and 'missing' in err[-1]
    assert err[-1].endswith("It was trained with the config 'attr-mask-rcnn_r18_fpn_demo-520it_"
                            "synthetic-fashionpedia'. Use that config, or pass --allow-partial "
                            'to load only the weights that fit (e.g. to fine-tune from them), '
                            'with a warning.'), err[-1]
    assert 'Traceback' not in res.stderr and 'Epoch(test)' not in res.stdout
    assert not [p.name for p in tmp_path.iterdir() if re.fullmatch(r'\d{8}_\d{6}', p.name)]
    # loudly, on request
    res = tool(f'{TOOLS}/test.py', PLAIN_DEMO, ckpt, '--work-dir', tmp_path, '--allow-partial',
               '--cfg-options', *opts)
    assert '--allow-partial: checkpoint' in res.stdout + res.stderr


def test_infer_and_load_from_check_too(trained, synthetic_root, tmp_path):
    ckpt = osp.join(trained[0], 'iter_2.pth')
    img = osp.join(synthetic_root, 'test', '*.jpg')
    res = tool(f'{TOOLS}/infer.py', img, PLAIN_DEMO, ckpt, '--out-dir', tmp_path, check=False)
    assert res.returncode == 2 and 'has an attribute head' in res.stderr.splitlines()[-1]
    work = str(tmp_path / 'ft')
    res = tool(
        f'{TOOLS}/train.py',
        PLAIN_DEMO,
        '--work-dir',
        work,
        '--cfg-options',
        f'load_from={ckpt}',
        *tiny_cfg_options(synthetic_root, work),
        check=False)
    assert res.returncode == 2 and 'has an attribute head' in res.stderr.splitlines()[-1]
    assert not [p for p in os.listdir(work) if re.fullmatch(r'\d{8}_\d{6}', p)]  # no empty run


def test_resume_from_another_models_checkpoint_stops_in_one_line(trained, synthetic_root, tmp_path):
    """mmengine would load the weights that match and then fail on the optimizer state."""
    ckpt = osp.join(trained[0], 'iter_2.pth')
    work = str(tmp_path / 'resume')
    res = tool(
        f'{TOOLS}/train.py',
        PLAIN_DEMO,
        '--work-dir',
        work,
        '--resume',
        ckpt,
        '--cfg-options',
        *tiny_cfg_options(synthetic_root, work),
        check=False)
    err = res.stderr.strip().splitlines()
    assert res.returncode == 2 and 'Traceback' not in res.stderr, res.stderr[-3000:]
    assert err[-1].startswith(f'error: cannot resume: checkpoint {ckpt} has an attribute head')
    assert f'use --cfg-options load_from={ckpt}' in err[-1]
    # one piece of advice: --allow-partial does not apply to --resume (only to load_from)
    assert err[-1].count('--allow-partial') == 1 and 'Use that config' not in err[-1], err[-1]
    assert 'Iter(train)' not in res.stdout


def test_bare_resume_with_nothing_to_resume_keeps_the_configs_load_from(
        trained, synthetic_root, tmp_path):
    """A job script that always passes ``--resume``: at its first launch the work dir is empty,
    and mmdet's tool would drop the config's ``load_from`` (the run starting from scratch); here
    it is loaded as without ``--resume`` (its weights checked), and the log says so."""
    from fashionpedia_plugin.toolkit.launch import build_train_runner
    ckpt = osp.join(trained[0], 'iter_2.pth')
    work = str(tmp_path / 'fresh')
    runner = build_train_runner([
        DEMO_CONFIG, '--work-dir', work, '--resume', '--cfg-options',
        *tiny_cfg_options(synthetic_root, work), f'load_from={ckpt}'
    ])
    assert not runner._resume and runner._load_from == ckpt
    log = open(runner.logger.log_file).read()
    assert f'--resume: no checkpoint in {work} (no last_checkpoint file): this run starts from ' \
        f'iteration 0, from the config\'s load_from {ckpt}' in log


def test_resume_takes_the_checkpoints_seed_before_the_sampler_is_built(
        trained, synthetic_root, tmp_path):
    """mmengine builds the train loop (its sampler seeded with the runner's seed) before it
    restores the checkpoint's seed: a config without randomness.seed (mmdet's default, the
    paper configs) resumed with another data order. tools/train.py --resume sets the seed
    first, and says so."""
    import shutil

    from fashionpedia_plugin.toolkit.launch import build_train_runner
    work = str(tmp_path / 'resumed')
    shutil.copytree(trained[0], work)
    saved = torch.load(osp.join(work, 'iter_2.pth'), map_location='cpu', weights_only=False)
    seed = saved['meta']['seed']
    runner = build_train_runner([
        DEMO_CONFIG, '--work-dir', work, '--resume', '--cfg-options',
        *tiny_cfg_options(synthetic_root, work, max_iters=4), 'randomness.seed=None'
    ])
    assert runner._resume and runner.seed == seed == runner.cfg.randomness.seed
    log = open(runner.logger.log_file).read()
    assert f'--resume: seed {seed} of the checkpoint, not a new random seed' in log
