"""``tools/train.py --resume``: which checkpoint (toolkit/resume.py) and whether its schedule fits
this run (CheckpointProvenanceHook.check_resumed_schedule)."""
import glob
import json
import os
import os.path as osp
import shutil

import pytest
from conftest import DEMO_CONFIG, tiny_cfg_options, tool

from fashionpedia_plugin.engine.hooks.resume_checks import (ScheduleMismatchError,
                                                            check_resumed_schedule)
from fashionpedia_plugin.toolkit.cli import CLIError
from fashionpedia_plugin.toolkit.resume import latest_in_work_dir


def schedule(enable,
             total=2,
             world_size=1,
             max_iters=2,
             lr=0.01,
             milestones=(440, ),
             warmup=50,
             factor=1.0):
    return dict(
        enable=enable,
        factor=factor,
        world_size=world_size,
        batch_per_process=total // world_size,
        total_batch=total,
        max_iters=max_iters,
        lr=lr,
        milestones=list(milestones),
        warmup_iters=warmup)


def test_a_kept_schedule_resumed_rescaled_is_refused_and_the_other_way():
    kept = schedule(False)
    rescaled = schedule(True, max_iters=4, lr=0.005, milestones=[880], warmup=100, factor=0.5)
    with pytest.raises(ScheduleMismatchError) as e:
        check_resumed_schedule(kept, dict(rescaled))
    assert str(e.value) == (
        'cannot resume: the checkpoint\'s run kept the schedule as written (--keep-schedule or '
        'auto_scale_schedule.enable=False) (2 iterations, lr 0.01, drops at 440, warm-up 50), '
        'this run rescales it by images seen (4 iterations, lr 0.005, drops at 880, warm-up 100): '
        'the checkpoint\'s iterations and drops are in the other units. Resume as it was '
        'trained: add --keep-schedule')
    with pytest.raises(ScheduleMismatchError, match='drop --keep-schedule'):
        check_resumed_schedule(rescaled, dict(kept))
    # at the config's reference batch (factor 1) both count in the same units: a longer run
    # without the flag is a plain resume
    assert check_resumed_schedule(schedule(False), schedule(True, max_iters=6)) == []
    # a record of an older checkpoint without the keys: not checked, said
    assert check_resumed_schedule({'total_batch': 2}, schedule(True)) == [
        'the checkpoint\'s schedule record lacks enable, world_size, batch_per_process, factor, '
        'lr, max_iters, milestones, warmup_iters: its schedule was not compared with this run\'s'
    ]


def test_another_total_batch_refused_unless_both_keep_the_schedule():
    with pytest.raises(ScheduleMismatchError) as e:
        check_resumed_schedule(schedule(False, total=4, world_size=2), schedule(True))
    assert str(e.value).endswith('Keep the total batch (--cfg-options train_dataloader.batch_size='
                                 '4 with --keep-schedule, as the checkpoint\'s run), or resume on '
                                 '2 processes with --keep-schedule, as the checkpoint\'s run')
    # rescaled then (total 8 of 16), kept now at 16: the ways say to drop the flag as well
    with pytest.raises(ScheduleMismatchError) as e:
        check_resumed_schedule(
            schedule(True, total=8, world_size=4, factor=0.5),
            schedule(False, total=16, world_size=8))
    assert str(e.value).endswith('Keep the total batch (--cfg-options train_dataloader.batch_size='
                                 '1 without --keep-schedule, as the checkpoint\'s run), or resume '
                                 'on 4 processes without --keep-schedule, as the checkpoint\'s run')
    lines = check_resumed_schedule(schedule(False, total=4, world_size=2), schedule(False))
    assert lines == [
        'resuming at total batch 2 a checkpoint trained at total batch 4, both with the schedule '
        'kept as written: iterations, lr drops and lr continue as counted, so from here each '
        'iteration sees 0.5x the images it saw (mmengine\'s behaviour)'
    ]


def test_a_changed_lr_schedule_is_said_and_recorded_as_restored():
    now = schedule(True, max_iters=6, milestones=[3])
    lines = check_resumed_schedule(schedule(True, milestones=[1]), now)
    assert lines == [
        'the lr schedule continues as the checkpoint has it (mmengine restores the optimizer\'s '
        'lr and the schedulers\' state): milestones [1] (this run\'s config: [3]); max_iters '
        'and the validation interval are this run\'s'
    ]
    assert now['milestones'] == [1] and now['max_iters'] == 6  # the next checkpoint's record
    # a longer run (more max_iters) alone is a plain resume
    assert check_resumed_schedule(schedule(True), schedule(True, max_iters=6)) == []


def test_epoch_based_batch_change_is_said_in_epochs():
    epochs = dict(schedule(False, total=4, world_size=2), max_iters=None)
    lines = check_resumed_schedule(epochs, dict(schedule(False), max_iters=None))
    assert lines == [
        'resuming at total batch 2 a checkpoint trained at total batch 4 (epoch-based, schedule '
        'kept as written): epochs and lr drops continue as counted, at 2x the lr per image'
    ]


def test_best_and_last_paths_outside_the_run_are_moved_in_or_forgotten(tmp_path):
    """mmengine restores ``runtime_info['best_ckpt*']`` as absolute paths and removes that file
    at the next better score: for a copied work dir (or --resume /other/iter_N.pth) that is the
    other folder's best checkpoint."""
    from fashionpedia_plugin.engine.hooks.resume_checks import relocate_checkpoint_paths
    other, mine = tmp_path / 'other', tmp_path / 'mine'
    _touch(
        str(other / 'best_segm_iter_2.pth'), str(other / 'best_bbox_iter_2.pth'),
        str(other / 'iter_2.pth'), str(mine / 'best_segm_iter_2.pth'), str(mine / 'iter_9.pth'))
    info = {
        'best_ckpt_segm': str(other / 'best_segm_iter_2.pth'),
        'best_ckpt_bbox': str(other / 'best_bbox_iter_2.pth'),
        'last_ckpt': str(other / 'iter_2.pth'),
        'best_score_segm': 0.3,
        'keep_ckpt_ids': [2],
    }
    ckpt = {'message_hub': {'runtime_info': dict(info)}}
    lines = relocate_checkpoint_paths(ckpt, str(mine))
    got = ckpt['message_hub']['runtime_info']
    assert got['best_ckpt_segm'] == str(mine / 'best_segm_iter_2.pth')  # its copy here
    assert 'best_ckpt_bbox' not in got and 'last_ckpt' not in got  # no copy: never removed
    assert got['best_score_segm'] == 0.3 and got['keep_ckpt_ids'] == [2]
    assert len(lines) == 3 and 'the original is never removed by this run' in lines[0]
    # inside the run's folder, or remote: untouched
    ckpt = {'message_hub': {'runtime_info': {'best_ckpt': str(mine / 'best_segm_iter_2.pth')}}}
    assert relocate_checkpoint_paths(ckpt, str(mine)) == []
    ckpt = {'message_hub': {'runtime_info': {'best_ckpt': 's3://b/run/best.pth'}}}
    assert relocate_checkpoint_paths(ckpt, str(mine)) == []


def test_ranks_must_start_from_the_same_iteration():
    from fashionpedia_plugin.engine.hooks.resume_checks import check_same_start
    check_same_start([200, 200])
    with pytest.raises(
            ScheduleMismatchError,
            match=r'\(rank 0: 200, rank 1: 0\): each rank reads '
            'the checkpoint from its own work dir'):
        check_same_start([200, 0])


def _touch(*paths):
    for p in paths:
        os.makedirs(osp.dirname(p), exist_ok=True)
        open(p, 'w').close()


def test_bare_resume_picks_the_work_dirs_own_checkpoint(tmp_path):
    old, work = str(tmp_path / 'old'), str(tmp_path / 'work')
    _touch(*(osp.join(work, f'iter_{i}.pth') for i in (2, 10, 4)), osp.join(work, 'best_x.pth'))
    # no last_checkpoint: the newest by iteration (10 > 4 > 2, not by name)
    path, note = latest_in_work_dir(work)
    assert path == osp.join(work, 'iter_10.pth') and 'has no last_checkpoint file' in note
    # last_checkpoint inside the work dir: as mmengine, no note
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work, 'iter_4.pth'))
    assert latest_in_work_dir(work) == (osp.join(work, 'iter_4.pth'), None)
    # copied work dir: last_checkpoint names the original folder's file; the copy's is used
    _touch(osp.join(old, 'iter_4.pth'))
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(old, 'iter_4.pth'))
    path, note = latest_in_work_dir(work)
    assert path == osp.join(work, 'iter_4.pth')
    assert 'outside the work dir: the work dir was copied or moved' in note
    # moved: the named file is gone and no file of its name here -> the newest here
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(old, 'iter_8.pth'))
    path, note = latest_in_work_dir(work)
    assert path == osp.join(work, 'iter_10.pth') and '(not found)' in note
    # nothing to resume from at all: one line
    for name in os.listdir(work):
        if name.endswith('.pth'):
            os.remove(osp.join(work, name))
    with pytest.raises(
            CLIError,
            match='names .*iter_8.pth, which does not exist, and .* holds no '
            r'iter_N.pth or epoch_N.pth; give the checkpoint \(--resume FILE\)'):
        latest_in_work_dir(work)
    # an empty last_checkpoint file says so; a remote path is mmengine's, as it is
    open(osp.join(work, 'last_checkpoint'), 'w').close()
    with pytest.raises(CLIError, match=r'names nothing \(an empty file\), which does not exist'):
        latest_in_work_dir(work)
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write('s3://bucket/run/iter_8.pth')
    assert latest_in_work_dir(work) == ('s3://bucket/run/iter_8.pth', None)
    # default_hooks.checkpoint.out_dir=/ckpts: the checkpoints are in /ckpts/<work dir's name>
    from fashionpedia_plugin.engine.hooks.resume_checks import checkpoint_dir
    ckpts = checkpoint_dir(work, str(tmp_path / 'ckpts'))
    assert ckpts == str(tmp_path / 'ckpts' / 'work')
    _touch(osp.join(ckpts, 'iter_6.pth'))
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(ckpts, 'iter_6.pth'))
    assert latest_in_work_dir(work, ckpts) == (osp.join(ckpts, 'iter_6.pth'), None)


@pytest.mark.slow
def test_moved_work_dir_resumes_and_a_flag_mismatch_stops(synthetic_root, tmp_path):
    """A user's command lines: train 2 iterations, move the work dir, bare ``--resume`` there to
    3 iterations; then the same resume with the schedule rescaled (the first run kept it): one
    line, exit 2, before any iteration."""
    first, moved = str(tmp_path / 'first'), str(tmp_path / 'moved')
    res = tool('tools/train.py', DEMO_CONFIG, '--work-dir', first, '--cfg-options',
               *tiny_cfg_options(synthetic_root, first), 'param_scheduler.1.milestones=[1]')
    shutil.move(first, moved)
    opts = [o for o in tiny_cfg_options(synthetic_root, moved) if 'max_iters' not in o]
    # + a drop moved from 1 to 3: the checkpoint's scheduler continues (said, and checked below)
    res = tool('tools/train.py', DEMO_CONFIG, '--work-dir', moved, '--resume', '--cfg-options',
               *opts, 'train_cfg.max_iters=3', 'param_scheduler.1.milestones=[3]')
    log = res.stdout + res.stderr
    assert f'--resume: last_checkpoint names {osp.join(first, "iter_2.pth")} (not found: the ' \
        'work dir was copied or moved); resuming from the work dir\'s iter_2.pth' in log, \
        log[-3000:]
    assert 'resumed epoch: 0, iter: 2' in log
    # the best checkpoint's path restored with the message hub is the moved one's copy
    assert f'is outside this run\'s checkpoint folder; using its copy {moved}' in log
    assert 'the lr schedule continues as the checkpoint has it (mmengine restores the ' \
        'optimizer\'s lr and the schedulers\' state): milestones [1] (this run\'s config: ' \
        '[3])' in log
    assert osp.isfile(osp.join(moved, 'iter_3.pth'))
    with open(osp.join(moved, 'last_checkpoint')) as f:
        assert f.read().strip() == osp.join(moved, 'iter_3.pth')
    # the checkpoint found is the runner's, not pinned in the config the run dumped
    dumped = sorted(glob.glob(osp.join(moved, '2*', 'vis_data', 'config.py')))[-1]
    assert "load_from = None" in open(dumped).read() and 'resume = True' in open(dumped).read()
    # iteration 3 ran after the checkpoint's drop at 1: lr 0.02 x warm-up (0.01 + 0.99 x 2 / 50)
    # x 0.1 ~ 1e-4; with the config's drop at 3 it would be 10x that
    lrs = {}
    for path in glob.glob(osp.join(moved, '2*', 'vis_data', 'scalars.json')):
        for line in open(path):
            rec = json.loads(line)
            if 'lr' in rec:
                lrs[rec['iter']] = rec['lr']
    assert lrs[3] == pytest.approx(0.02 * (0.01 + 0.99 * 2 / 50) * 0.1, rel=0.05), lrs
    import torch
    meta = torch.load(osp.join(moved, 'iter_3.pth'), map_location='cpu')['meta']
    assert meta['fashionpedia']['schedule']['milestones'] == [1]  # what ran, not the config

    # the first run kept the schedule (auto_scale_schedule.enable=False); rescaled now at total
    # batch 2 of the demo's 4, its 3 iterations would be 6 and the drops doubled
    again = [o for o in opts if 'auto_scale_schedule' not in o] + ['train_cfg.max_iters=3']
    res = tool(
        'tools/train.py',
        DEMO_CONFIG,
        '--work-dir',
        moved,
        '--resume',
        '--cfg-options',
        *again,
        check=False)
    assert res.returncode == 2, res.stderr[-3000:]
    err = res.stderr.strip().splitlines()[-1]
    assert err.startswith('error: cannot resume: the checkpoint\'s run kept the schedule as '
                          'written'), err
    assert err.endswith('Resume as it was trained: add --keep-schedule'), err
    assert not osp.isfile(osp.join(moved, 'iter_4.pth'))


SAME_START_RANK = r'''
import os, sys
from datetime import timedelta
from types import SimpleNamespace
import torch.distributed as dist
from fashionpedia_plugin.engine.hooks import CheckpointProvenanceHook
from fashionpedia_plugin.engine.hooks.resume_checks import ScheduleMismatchError
rank = int(sys.argv[1])
dist.init_process_group('gloo', init_method='tcp://127.0.0.1:' + sys.argv[2], rank=rank,
                        world_size=2, timeout=timedelta(seconds=60))
# what Runner.train() has when CheckpointProvenanceHook.before_train runs: rank 0 resumed
# iteration 200 from its node's work dir, rank 1 found no checkpoint and starts from 0
runner = SimpleNamespace(world_size=2, _resume=rank == 0, iter=200 if rank == 0 else 0)
try:
    CheckpointProvenanceHook().before_train(runner)
    print('started')
except ScheduleMismatchError as e:
    print(e)
'''


def test_a_rank_that_did_not_resume_still_meets_the_start_check(tmp_path):
    """Node-local work dirs, only node 0's has a checkpoint: every rank stops with the one-line
    error. The check ran on resumed ranks only, so rank 0 waited in the gather while rank 1
    went on to train (a hang until the collective timeout)."""
    import subprocess
    import sys

    from conftest import REPO, free_port
    script = tmp_path / 'rank.py'
    script.write_text(SAME_START_RANK)
    port = str(free_port())
    procs = [
        subprocess.Popen([sys.executable, str(script), str(r), port],
                         cwd=REPO,
                         stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT,
                         text=True) for r in (0, 1)
    ]
    outs = []
    for p in procs:
        try:
            outs.append(p.communicate(timeout=120)[0])
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail('the start check hung: a rank skipped the gather')
    for out in outs:
        assert 'the ranks start from different iterations (rank 0: 200, rank 1: 0)' in out, out
