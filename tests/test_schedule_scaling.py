"""Schedules that follow the GPU count (toolkit/schedule_scaling.py, tools/train.py)."""
import json
import os.path as osp
import sys

import pytest
from conftest import DEMO_CONFIG, REPO, free_port, prior_options, run
from mmengine.config import Config

from fashionpedia_plugin.toolkit.schedule_scaling import describe, resolve_schedule

PAPER = osp.join(REPO, 'configs', 'attr-mask-rcnn')


def paper(name):
    return Config.fromfile(osp.join(PAPER, f'attr-mask-rcnn_r50_fpn_lsj-{name}_fashionpedia.py'))


@pytest.mark.parametrize('gpus', [1, 2, 4, 8, 16])
def test_paper_1x_keeps_images_and_lr_per_image(gpus):
    cfg = paper('1x')
    rec = resolve_schedule(cfg, gpus)
    total = 2 * gpus
    assert rec['total_batch'] == total and rec['enable']
    # images seen and lr per image are those of 8 x 2 = 16
    assert cfg.train_cfg.max_iters * total == 90000 * 16
    assert cfg.param_scheduler[1].milestones == [60000 * 16 // total, 80000 * 16 // total]
    assert cfg.param_scheduler[1].end == cfg.train_cfg.max_iters
    assert cfg.param_scheduler[0].end * total == 2000 * 16  # 1x warm-up: 32,000 images
    assert cfg.optim_wrapper.optimizer.lr / total == pytest.approx(0.02 / 16)
    assert cfg.train_cfg.val_interval * total == 5000 * 16
    assert cfg.default_hooks.checkpoint.interval == cfg.train_cfg.val_interval
    assert cfg.default_hooks.logger.interval == 50  # logging rhythm stays in iterations
    assert cfg.auto_scale_schedule.total_batch == total  # in the config dump and checkpoints


def test_a_resolved_config_says_the_batch_its_lr_is_for():
    """The dumped config of a run resolved for 4 x 2 has lr 0.01 for total batch 8: its
    auto_scale_lr.base_batch_size says 8, so that a rerun with --keep-schedule --auto-scale-lr
    on 8 x 2 scales x 2 (mmengine's scale_lr: real batch / base_batch_size), and the recipe
    check of the dump reads 4 GPUs, not 8 (16 / 2)."""
    from fashionpedia_plugin.toolkit.recipe_check import check, intended_gpus
    cfg = paper('1x')
    resolve_schedule(cfg, 4)
    dumped = Config.fromstring(cfg.pretty_text, '.py')
    assert dumped.auto_scale_lr.base_batch_size == 8 and dumped.optim_wrapper.optimizer.lr == 0.01
    assert intended_gpus(dumped) == 4
    rows = {r[0]: r for r in check(dumped, schedule='1x')}
    assert rows['schedule (images seen)'][1] == 22500 * 64
    # resolved again (a rerun of the dump on 8 processes): from its own units, never twice
    rec = resolve_schedule(dumped, 8)
    assert rec['factor'] == 2 and dumped.optim_wrapper.optimizer.lr == 0.02
    assert dumped.train_cfg.max_iters == 90000


def test_start_up_lines_for_1_4_and_8_gpus():
    lines = {g: describe(resolve_schedule(paper('1x'), g)) for g in (1, 4, 8)}
    assert lines[4][0].startswith('total batch 8 (4 processes x 2): lr 0.01, 180,000 iterations, '
                                  'drops at 120,000/160,000, warm-up 4,000, validation every '
                                  '10,000 (rescaled by images seen')
    assert lines[8][0].startswith('total batch 16 (8 processes x 2) = the config\'s reference '
                                  'batch: lr 0.02, 90,000 iterations')
    assert lines[8][1] == 'BN batch 16 (SyncBN over 8 processes)'
    assert lines[1][0].startswith('total batch 2 (1 process x 2): lr 0.0025, 720,000')
    assert lines[1][1].startswith('warning: BN batch 2: SyncBN cannot sync')


def test_keep_schedule_and_warmups_per_schedule():
    cfg = paper('3x')
    rec = resolve_schedule(cfg, 4, keep=True)
    assert not rec['enable'] and cfg.train_cfg.max_iters == 270000
    assert cfg.optim_wrapper.optimizer.lr == 0.02
    assert 'schedule kept as written (written for total batch 16: this run sees 0.5x its images ' \
        'at 2x its lr per image) (--keep-schedule)' in describe(rec, keep=True)[0]
    # official warm-ups: 500 template steps x 64 (1x, 2x) or x 256 (3x yaml, 6x), at batch 16
    assert [paper(s).param_scheduler[0].end for s in ('1x', '2x', '3x', '6x')] == \
        [2000, 2000, 8000, 8000]


def test_recipe_check_matches_warmup_and_loss_scales_at_any_gpu_count():
    from fashionpedia_plugin.toolkit.recipe_check import check
    for sched in ('1x', '3x'):
        for gpus in (None, 4):
            cfg = paper(sched)
            if gpus:
                resolve_schedule(cfg, gpus)
            rows = {r[0]: r for r in check(cfg, schedule=sched, gpus=gpus)}
            for entry in ('warm-up (images)', 'schedule (images seen)', 'lr drops (images seen)',
                          'lr per image', 'RPN score loss', 'RPN box loss', 'R-CNN class loss',
                          'R-CNN box loss', 'mask loss', 'FPN batch norm', 'RPN conv batch norm',
                          'box head', 'mask head', 'anchor centres', 'RPN anchor matching',
                          'RoIAlign sampling', 'mask targets'):
                assert rows[entry][3] == 'match', (sched, gpus, rows[entry])
            assert 'modeling/losses.py' in rows['RPN box loss'][4] or \
                'L (' in rows['RPN box loss'][4]
            documented = [r[0] for r in rows.values() if r[3] == 'documented']
            assert documented == ['total batch'], documented
            assert not [r for r in rows.values() if r[3] == 'deviates']


def test_mmdet_style_variant_keeps_mmdets_losses():
    from fashionpedia_plugin.toolkit.recipe_check import check
    cfg = Config.fromfile(
        osp.join(PAPER, 'attr-mask-rcnn_r50_fpn_mmdet-style_lsj-1x_fashionpedia.py'))
    rows = {r[0]: r for r in check(cfg, schedule='1x')}
    assert rows['RPN box loss'][1] == 'L1 x 1, sampled positives, / sampled anchors'
    assert rows['anchor centres'][1] == '0 x stride + k x stride'
    assert rows['RPN anchor matching'][1] == "fg >= 0.7, bg < 0.3, + each gt's best anchors " \
        'at IoU >= 0.3'
    assert rows['RoIAlign sampling'][1] == 'adaptive samples per bin, half-pixel shift'
    assert rows['mask targets'][1] == 'binary (> 0.5)'
    assert rows['R-CNN box loss'][1] == 'L1 x 1, / sampled RoIs'
    assert rows['RPN conv batch norm'][1] is False and rows['FPN batch norm'][1] is False


def _probe(work, nproc, synthetic_root):
    opts = [
        f'train_dataloader.dataset.data_root={synthetic_root}/',
        f'val_evaluator.ann_file={synthetic_root}/annotations/instances_attributes_val2020.json',
        'train_dataloader.batch_size=2', 'auto_scale_schedule.enable=True'
    ] + prior_options(synthetic_root)
    port = str(free_port())
    run([
        sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={nproc}',
        f'--master_port={port}',
        osp.join(REPO, 'tests', 'helpers', 'schedule_probe.py'), DEMO_CONFIG, '--launcher',
        'pytorch', '--work-dir', work, '--cfg-options', *opts
    ],
        env=dict(OMP_NUM_THREADS='1'))
    return [json.load(open(osp.join(work, f'schedule_rank{r}.json'))) for r in range(nproc)]


@pytest.mark.slow
def test_gloo_1_2_4_processes_resolve_the_same_experiment(synthetic_root, tmp_path):
    """The demo is written for total batch 4 (1 x 4): lr 0.02, 520 iterations, drop at 440,
    warm-up 50, validation/checkpoint every 260. At 2 images per process on 1, 2 and 4 gloo
    processes every rank builds the rescaled optimizer and schedulers."""
    for nproc in (1, 2, 4):
        ranks = _probe(str(tmp_path / f'p{nproc}'), nproc, synthetic_root)
        total, k = 2 * nproc, 2 * nproc / 4
        for r in ranks:
            assert r['world_size'] == nproc and r['record']['total_batch'] == total
            assert r['initial_lr'] == pytest.approx(0.02 * k)
            assert r['max_iters'] == round(520 / k) and r['milestones'] == [round(440 / k)]
            assert r['warmup_end'] == round(50 / k)
            assert r['val_interval'] == r['checkpoint_interval'] == round(260 / k)
        assert len({json.dumps(r, sort_keys=True) for r in ranks}) == 1  # same on every rank


@pytest.mark.parametrize('flags, lr, iters', [(['--auto-scale-lr'], 0.01, 1040),
                                              (['--keep-schedule', '--auto-scale-lr'], 0.01, 520),
                                              (['--keep-schedule'], 0.02, 520)])
def test_auto_scale_lr_with_and_without_the_schedule(flags, lr, iters, synthetic_root, tmp_path):
    """--auto-scale-lr with the default scaling: the lr is scaled once, not twice;
    with --keep-schedule it is mmdet's (lr only); 1 process x 2 against the demo's batch 4."""
    from fashionpedia_plugin.toolkit.launch import build_train_runner
    opts = [
        f'train_dataloader.dataset.data_root={synthetic_root}/', 'train_dataloader.batch_size=2'
    ] + prior_options(synthetic_root)
    runner = build_train_runner(
        [DEMO_CONFIG, '--work-dir',
         str(tmp_path), *flags, '--cfg-options', *opts])
    optim = runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    if runner.auto_scale_lr and runner.auto_scale_lr.get('enable'):
        runner.scale_lr(optim, runner.auto_scale_lr)  # as Runner.train does
    assert optim.optimizer.param_groups[0]['lr'] == pytest.approx(lr)
    assert runner.cfg.train_cfg.max_iters == iters


def test_world_size_before_the_process_group(monkeypatch):
    """What each launcher puts in the environment: torchrun WORLD_SIZE, slurm SLURM_NTASKS
    (tools/slurm_train.sh: GPUS tasks), mpi OMPI_COMM_WORLD_SIZE; 1 without a launcher."""
    from fashionpedia_plugin.toolkit.schedule_scaling import world_size_from_env
    for var in ('WORLD_SIZE', 'SLURM_NTASKS', 'SLURM_NPROCS', 'OMPI_COMM_WORLD_SIZE', 'PMI_SIZE'):
        monkeypatch.delenv(var, raising=False)
    assert world_size_from_env('none') == 1 and world_size_from_env('pytorch') == 1
    monkeypatch.setenv('WORLD_SIZE', '4')
    monkeypatch.setenv('SLURM_NTASKS', '16')
    monkeypatch.setenv('OMPI_COMM_WORLD_SIZE', '2')
    assert [world_size_from_env(k) for k in ('pytorch', 'slurm', 'mpi', 'none')] == [4, 16, 2, 1]


def test_schedule_values_given_as_options_are_rescaled_and_said(synthetic_root, tmp_path):
    """``--cfg-options train_cfg.max_iters=4`` is in the config's units (the demo's total batch
    4): on 1 process x 2 it is 8 iterations, and the log says so; --keep-schedule keeps 4."""
    from fashionpedia_plugin.toolkit.launch import build_train_runner
    opts = [
        f'train_dataloader.dataset.data_root={synthetic_root}/', 'train_dataloader.batch_size=2',
        'train_cfg.max_iters=4'
    ] + prior_options(synthetic_root)
    for flags, iters in (([], 8), (['--keep-schedule'], 4)):
        work = tmp_path / str(iters)
        runner = build_train_runner(
            [DEMO_CONFIG, '--work-dir',
             str(work), *flags, '--cfg-options', *opts])
        assert runner.cfg.train_cfg.max_iters == iters
        log = open(runner.logger.log_file).read()
        said = '--cfg-options train_cfg.max_iters are in the config\'s units (total batch 4) ' \
            'and were rescaled with the schedule by 0.5'
        assert (said in log) == (not flags), log[-3000:]
