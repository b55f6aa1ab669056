"""Every config under configs/ loads and its model builds (one parametrized test over all)."""
import glob
import os.path as osp

import pytest
import torch
from conftest import REPO
from mmengine.config import Config

CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p)

# What one training step exercises: everything but the schedule (iterations, lr steps, warm-up,
# per-GPU batch; the step trains at batch 1, and the schedules have their own tests below and in
# test_schedule_scaling.py). Schedule-only variants (lsj-2x/3x/6x, 8xb8) share their base's step.
SCHEDULE_KEYS = ('train_cfg', 'param_scheduler', 'auto_scale_lr', 'auto_scale_schedule',
                 'max_iters', 'milestones', 'warmup_iters')


def training_signature(path):
    cfg = Config.fromfile(path)
    for key in SCHEDULE_KEYS:
        cfg.pop(key, None)
    cfg.train_dataloader.pop('batch_size', None)
    return cfg.pretty_text


def step_configs():
    """One config per distinct training signature, with the variants it stands for."""
    firsts = {}
    for path in CONFIGS:
        firsts.setdefault(training_signature(path), []).append(path)
    out = {}
    for paths in firsts.values():  # the base: the one the others inherit from (by file name)
        base = next((p for p in paths if all(p == q or osp.basename(p) in open(q).read()
                                             for q in paths)), paths[0])
        out[base] = [p for p in paths if p != base]
    return out


STEP_CONFIGS = step_configs()


def test_there_are_configs():
    names = {osp.basename(p) for p in CONFIGS}
    assert 'attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py' in names
    assert 'mask-rcnn_r50_fpn_seed-240k_fashionpedia.py' in names
    assert len(CONFIGS) >= 8


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.relpath(p, REPO) for p in CONFIGS])
def test_config_loads_and_model_builds(path):
    from mmdet.registry import MODELS
    cfg = Config.fromfile(path)
    cfg.model.backbone.init_cfg = None  # no pretrained download
    model = MODELS.build(cfg.model)
    assert model.roi_head.bbox_head.num_classes == 46
    assert model.roi_head.mask_head.num_classes == 46
    if 'attr-mask-rcnn' in osp.basename(path):
        assert type(model.roi_head).__name__ == 'AttributeRoIHead'
        assert model.roi_head.bbox_head.fc_attr.out_features == 294
    # the evaluator and datasets resolve to registered plugin classes
    assert cfg.val_evaluator.type == 'FashionpediaMetric'
    assert cfg.train_dataloader.dataset.type == 'FashionpediaDataset'


# (iterations, drops) at total batch 16 and the official steps x batch they convert, by images
SCHEDULES = {
    '1x': (90000, [60000, 80000], (22500, 64, [15000, 20000])),  # model_config.py template
    '2x': (180000, [120000, 160000], None),  # derived: twice the template 1x
    '3x': (270000, [240000, 260000], (16875, 256, [15000, 16250])),  # yaml/r50fpn_amrcnn.yaml
    '6x': (540000, [510000, 530000], (33750, 256, [31875, 33125])),  # SpineNet 6x yamls
}


@pytest.mark.parametrize('schedule', sorted(SCHEDULES))
def test_paper_schedules(schedule):
    iters, steps, official = SCHEDULES[schedule]
    name = f'attr-mask-rcnn_r50_fpn_lsj-{schedule}_fashionpedia.py'
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'attr-mask-rcnn', name))
    assert cfg.train_cfg.max_iters == iters
    step = [s for s in cfg.param_scheduler if s.type == 'MultiStepLR'][0]
    assert step.milestones == steps and step.end == iters
    if official is not None:  # the same images seen as the official schedule, and drops
        total, batch, drops = official
        assert iters * 16 == total * batch
        assert [m * 16 for m in steps] == [d * batch for d in drops]
    warmup = [s for s in cfg.param_scheduler if s.type == 'LinearLR'][0]
    # official warm-up: 500 steps at the template's batch 64 (1x, and 2x derived from it) or at
    # the 3x yaml's batch 256 (3x, 6x)
    assert warmup.end * 16 == 500 * (64 if schedule in ('1x', '2x') else 256)
    assert cfg.auto_scale_lr.base_batch_size == 16
    assert cfg.optim_wrapper.optimizer.lr * 256 / 16 == pytest.approx(0.32)
    assert cfg.default_hooks.checkpoint.save_best == 'fashionpedia/segm_mAP'


def test_schedule_variants_share_their_base_step():
    """Only schedule-only variants are left out of the training step, each with its base."""
    by_name = {osp.basename(p): [osp.basename(v) for v in vs] for p, vs in STEP_CONFIGS.items()}
    assert sorted(by_name['attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py']) == [
        'attr-mask-rcnn_r50_fpn_8xb8-lsj-1x_fashionpedia.py',
        'attr-mask-rcnn_r50_fpn_lsj-2x_fashionpedia.py',
        'attr-mask-rcnn_r50_fpn_lsj-3x_fashionpedia.py',
        'attr-mask-rcnn_r50_fpn_lsj-6x_fashionpedia.py'
    ]
    for name in ('amp-bf16_lsj-1x', 'channels-last_lsj-1x', 'mmdet-style_lsj-1x'):
        assert f'attr-mask-rcnn_r50_fpn_{name}_fashionpedia.py' in by_name
    assert sum(1 + len(v) for v in STEP_CONFIGS.values()) == len(CONFIGS)


@pytest.mark.slow
@pytest.mark.parametrize('path', STEP_CONFIGS, ids=[osp.relpath(p, REPO) for p in STEP_CONFIGS])
def test_one_cpu_training_step(path, synthetic_root, tmp_path):
    """Every config with its own model, pipeline, optimizer wrapper or hooks trains one step on
    CPU (synthetic data, batch 1, no pretrained weights, no validation); a schedule-only variant
    counts as its base (``STEP_CONFIGS``)."""
    import numpy as np
    from conftest import prior_options, tiny_cfg_options

    from fashionpedia_plugin.toolkit.launch import build_train_runner
    if Config.fromfile(path).optim_wrapper.type == 'AmpOptimWrapper' and not \
            torch.cuda.is_available():
        pytest.skip('mmengine AmpOptimWrapper trains on a GPU only (its __init__ asserts it)')
    opts = [
        o for o in tiny_cfg_options(synthetic_root, str(tmp_path), max_iters=1)
        if 'val_' not in o and 'evaluator' not in o and not o.startswith(('test_', 'visualizer'))
    ]
    opts += [
        'model.backbone.init_cfg=None', 'train_dataloader.batch_size=1', 'val_cfg=None',
        'val_dataloader=None', 'val_evaluator=None', 'default_hooks.checkpoint.save_best=None',
        'train_dataloader.dataset.filter_cfg.min_size=0'
    ]
    if Config.fromfile(path).visualizer.type == 'FashionpediaVisualizer':
        opts += [o for o in prior_options(synthetic_root) if o.startswith('visualizer')]
    runner = build_train_runner([path, '--work-dir', str(tmp_path), '--cfg-options', *opts])
    runner.train()
    assert runner.iter == 1
    assert np.isfinite(runner.message_hub.get_scalar('train/loss').current())
