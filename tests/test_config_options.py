"""``--cfg-options`` keys are checked against the config before anything is built
(toolkit/config_options.py): a misspelt key is one error line, a new setting passes."""
import os.path as osp
import sys

import pytest
from conftest import DEMO_CONFIG, REPO, TOOLS, run

from fashionpedia_plugin.toolkit.cli import CLIError, load_config

PAPER_1X = osp.join(REPO, 'configs', 'attr-mask-rcnn',
                    'attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py')

# key: (what the error says, the suggestion); mmengine merges each of these without a word: the
# run then trains with the old value (a new top-level variable) or fails with a TypeError once
# the model and the datasets are built
MISSPELT = {
    'train_dataloder.batch_size': ('not a key of the config nor a setting', 'train_dataloader'),
    'train_cfg.max_iter': ('not a parameter of IterBasedTrainLoop', 'max_iters'),
    'train_dataloader.num_worker': ('not a DataLoader argument', 'num_workers'),
    'model.backbone.frozen_stage': ('not a parameter of ResNet', 'frozen_stages'),
    'model.roi_head.bbox_head.num_clases':
    ('not a parameter of AttributeConvFCBBoxHead', 'num_classes'),
    'model.rpn_head.loss_bbox.bta': ('not a parameter of SmoothL1Loss', 'beta'),
    'optim_wrapper.optimizer.momentm': ('not a parameter of SGD', 'momentum'),
    'param_scheduler.1.milestone': ('not a parameter of MultiStepLR', 'milestones'),
    'val_evaluator.outfile_prefx': ('not a parameter of FashionpediaMetric', 'outfile_prefix'),
    'model.test_cfg.rcnn.max_per_im': ('looks like a misspelling', 'max_per_img'),
    'default_hooks.checkpoint.save_optimizers': ('looks like a misspelling', 'save_optimizer'),
    'env_cfg.resource_limt': ('not an env_cfg setting', 'resource_limit'),
    'optim_wrapper.paramwise_cfg.bias_decay_mul':
    ('not an optim_wrapper.paramwise_cfg setting', 'bias_decay_mult'),
    'model.neck.in_channels.0.x': ('256 in the config, not a dict', None),
    'param_scheduler.-1.milestones': ("'-1' not an index of it", None),
    'randomness.sed': ('not a randomness setting', 'seed'),
    'train_dataloader.dataset.pipeline.99.scale': ('is a list of', None),
}
# new keys an mmdet user sets: a parameter the class takes, a setting the Runner reads
NEW_SETTINGS = (
    'model.backbone.with_cp',
    'optim_wrapper.clip_grad.max_norm',
    'train_dataloader.pin_memory',
    'compile',
    'val_evaluator.outfile_prefix',
    'val_evaluator.format_only',
    'default_hooks.checkpoint.save_best',
    'default_hooks.checkpoint.priority',
    'model.roi_head.bbox_head.reg_class_agnostic',
    'env_cfg.cudnn_benchmark',
    'randomness.deterministic',
    # read by the Runner, or taken out by a builder before the class is called
    'find_unused_parameters',
    'sync_bn',
    'env_cfg.resource_limit',
    'param_scheduler.1.convert_to_iter_based',
    'optim_wrapper.paramwise_cfg.flat_decay_mult',
    'train_dataloader.disable_subprocess_warning',
    'model.backbone.norm_cfg.requires_grad')


@pytest.mark.parametrize('key', sorted(MISSPELT))
def test_misspelt_key_is_an_error_with_the_close_key(key):
    why, close = MISSPELT[key]
    with pytest.raises(CLIError) as e:
        load_config(PAPER_1X, {key: 1})
    msg = str(e.value)
    assert msg.startswith(f'--cfg-options {key}') and why in msg, msg
    assert PAPER_1X in msg and 'FP_CFG_OPTIONS_UNCHECKED=1 skips this check' in msg
    if close:
        assert f'did you mean {close}' in msg, msg


@pytest.mark.parametrize('key', NEW_SETTINGS)
def test_new_setting_is_merged(key):
    cfg = load_config(PAPER_1X, {key: 1})
    node = cfg
    for part in key.split('.'):
        node = node[int(part)] if part.isdigit() else node[part]
    assert node == 1


def test_a_changed_type_is_checked_as_the_new_class():
    # ResNet has no `groups`; ResNeXt, set in the same options, has
    cfg = load_config(PAPER_1X, {'model.backbone.type': 'ResNeXt', 'model.backbone.groups': 32})
    assert cfg.model.backbone.groups == 32
    with pytest.raises(CLIError, match='not a parameter of ResNet'):
        load_config(PAPER_1X, {'model.backbone.groups': 32})


def test_train_tool_stops_on_a_typo_before_building_and_on_a_key_without_value(tmp_path):
    res = run([
        sys.executable, f'{TOOLS}/train.py', DEMO_CONFIG, '--work-dir',
        str(tmp_path), '--cfg-options', 'train_dataloder.batch_size=2'
    ],
              check=False)
    err = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(err) == 1, res.stderr[-2000:]
    assert err[0].startswith('error: --cfg-options train_dataloder.batch_size:')
    assert 'did you mean train_dataloader' in err[0]
    assert not list(tmp_path.iterdir())  # no timestamp folder: nothing was built
    res = run([sys.executable, f'{TOOLS}/train.py', DEMO_CONFIG, '--cfg-options', 'train_cfg'],
              check=False)
    assert res.returncode == 2 and 'Traceback' not in res.stderr, res.stderr[-2000:]
    assert "'train_cfg' has no \"=\": write KEY=VALUE" in res.stderr


def test_amp_flag_is_known_to_the_check_and_a_failed_merge_is_one_line(tmp_path):
    import torch

    from fashionpedia_plugin.toolkit.launch import build_train_runner
    with pytest.raises(CLIError, match='not a parameter of OptimWrapper'):
        load_config(DEMO_CONFIG, {'optim_wrapper.dtype': 'bfloat16'})
    # --amp makes it an AmpOptimWrapper parameter: the run gets past the check (on a machine
    # without CUDA to the AMP check, which comes later)
    argv = [
        DEMO_CONFIG, '--amp', '--work-dir',
        str(tmp_path), '--cfg-options', 'optim_wrapper.dtype=bfloat16'
    ]
    if not torch.cuda.is_available():
        with pytest.raises(CLIError, match='AMP .* trains on a CUDA device only'):
            build_train_runner(argv)
    # a key below None: mmengine's TypeError, here one line with the ways to set it
    with pytest.raises(
            CLIError,
            match='paramwise_cfg is None in the config, not a dict: add '
            r'optim_wrapper.paramwise_cfg._delete_=True to give it keys'):
        load_config(DEMO_CONFIG, {'optim_wrapper.paramwise_cfg.bias_decay_mult': 0})
    cfg = load_config(DEMO_CONFIG, {
        'optim_wrapper.paramwise_cfg._delete_': True,
        'optim_wrapper.paramwise_cfg.bias_decay_mult': 0
    })
    assert cfg.optim_wrapper.paramwise_cfg == {'bias_decay_mult': 0}


def test_delete_replaces_a_component_checked_as_its_new_type():
    """mmengine's _delete_ (Config._merge_a_into_b): SGD -> AdamW keeps no SGD key."""
    swap = {
        'optim_wrapper.optimizer._delete_': True,
        'optim_wrapper.optimizer.type': 'AdamW',
        'optim_wrapper.optimizer.lr': 1e-4
    }
    cfg = load_config(PAPER_1X, swap)
    assert cfg.optim_wrapper.optimizer == {'type': 'AdamW', 'lr': 1e-4}
    with pytest.raises(CLIError, match='not a parameter of AdamW .*did you mean amsgrad'):
        load_config(PAPER_1X, {**swap, 'optim_wrapper.optimizer.amsgrd': True})


@pytest.mark.parametrize('key,typo,close',
                         [('optim_wrapper.optimizer.type', 'Adamw', 'Adam'),
                          ('model.backbone.type', 'ResNext', 'ResNeXt'),
                          ('param_scheduler.1.type', 'CosineAnealingLR', 'CosineAnnealingLR')])
def test_a_type_no_registry_has_is_an_error(key, typo, close):
    with pytest.raises(CLIError) as e:
        load_config(PAPER_1X, {key: typo})
    assert f"is '{typo}', a type no registry of mmdet or this plugin has" in str(e.value)
    assert close in str(e.value).split('did you mean')[1]
    # scoped names, and a type that is an mmcv op name, not a registry's
    load_config(PAPER_1X, {'model.backbone.type': 'mmdet.ResNet'})
    load_config(PAPER_1X, {'model.test_cfg.rcnn.nms.type': 'soft_nms'})


def test_the_check_can_be_skipped(monkeypatch):
    monkeypatch.setenv('FP_CFG_OPTIONS_UNCHECKED', '1')
    assert load_config(PAPER_1X, {'train_cfg.max_iter': 4}).train_cfg.max_iter == 4


@pytest.mark.parametrize('config,key,value,top', [
    (DEMO_CONFIG, 'image_size', (512, 512), 'image_size'),
    (PAPER_1X, 'attr_decoder.score_thr', 0.1, 'attr_decoder'),
    (PAPER_1X, 'norm_cfg.type', 'BN', 'norm_cfg'),
])
def test_a_container_variable_already_copied_is_an_error(config, key, value, top):
    """mmengine copies variables into the keys that use them when it reads the file: these
    were accepted and changed nothing the run reads."""
    with pytest.raises(CLIError, match='changes only the variable.*already copied into') as e:
        load_config(config, {key: value})
    assert 'set those keys instead' in str(e.value)
    # the components themselves are set as usual, also where one equals another
    cfg = load_config(config, {'val_dataloader.batch_size': 1})
    assert cfg.val_dataloader.batch_size == 1


def test_a_new_type_must_take_the_keys_it_keeps_and_prefix_misspellings():
    with pytest.raises(
            CLIError,
            match="'EpochBasedTrainLoop', which does not take max_iters of "
            "the config's train_cfg: add train_cfg._delete_=True"):
        load_config(PAPER_1X, {'train_cfg.type': 'EpochBasedTrainLoop', 'train_cfg.max_epochs': 1})
    load_config(PAPER_1X, {
        'train_cfg._delete_': True,
        'train_cfg.type': 'EpochBasedTrainLoop',
        'train_cfg.max_epochs': 1
    })
    # an untyped dict: score_threshold next to score_thr (difflib ratio 0.75)
    with pytest.raises(CLIError, match='did you mean score_thr'):
        load_config(PAPER_1X, {'model.test_cfg.rcnn.score_threshold': 0.0})


def test_dict_values_are_a_usage_error_with_the_way_that_works(capsys):
    from fashionpedia_plugin.toolkit.launch import train_parser
    with pytest.raises(SystemExit) as e:  # mmengine's DictAction: RecursionError
        train_parser().parse_args([
            DEMO_CONFIG, '--cfg-options',
            "model.backbone.init_cfg=dict(type='Pretrained',checkpoint='x')"
        ])
    assert e.value.code == 2
    assert "mmengine's DictAction cannot read dict(...) values; give the keys one by one " \
        '(model.backbone.init_cfg.KEY=VALUE ...; model.backbone.init_cfg._delete_=True first' \
        in capsys.readouterr().err


def test_bare_resume_without_a_checkpoint_says_it_starts_afresh(synthetic_root, tmp_path):
    from conftest import tiny_cfg_options

    from fashionpedia_plugin.toolkit.launch import build_train_runner
    runner = build_train_runner([
        DEMO_CONFIG, '--work-dir',
        str(tmp_path), '--resume', '--cfg-options', *tiny_cfg_options(synthetic_root, str(tmp_path))
    ])
    log = open(runner.logger.log_file).read()
    assert f'--resume: no checkpoint in {tmp_path} (no last_checkpoint file): this run starts ' \
        'from iteration 0' in log


def test_seeds_with_their_own_prediction_prefix_are_one_experiment():
    from fashionpedia_plugin.toolkit.run_configs import config_key
    a = dict(randomness=dict(seed=0), val_evaluator=dict(outfile_prefix='work_dirs/s1/preds'))
    b = dict(randomness=dict(seed=1), val_evaluator=dict(outfile_prefix='work_dirs/s2/preds'))
    assert config_key(a) == config_key(b)
