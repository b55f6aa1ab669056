"""``tools/train.py`` up to the first iteration: build the runner as the tool does, then its
optimizer and lr schedulers as ``Runner.train`` would, and write what each rank resolved to
``work_dir/schedule_rank{R}.json``. Run under torchrun by tests/test_schedule_scaling.py."""
import json
import os.path as osp
import sys

from fashionpedia_plugin.toolkit.launch import build_train_runner, finish_distributed

if __name__ == '__main__':
    runner = build_train_runner(sys.argv[1:])
    optim = runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    if runner.auto_scale_lr and runner.auto_scale_lr.get('enable'):
        runner.scale_lr(optim, runner.auto_scale_lr)  # what Runner.train does next
    schedulers = runner.build_param_scheduler(runner.param_schedulers)
    out = dict(
        world_size=runner.world_size,
        max_iters=runner.cfg.train_cfg.max_iters,
        val_interval=runner.cfg.train_cfg.val_interval,
        checkpoint_interval=runner.cfg.default_hooks.checkpoint.interval,
        initial_lr=[g['initial_lr'] for g in optim.optimizer.param_groups][0],
        warmup_end=schedulers[0].end,
        milestones=sorted(schedulers[1].milestones),
        record=dict(runner.cfg.auto_scale_schedule))
    with open(osp.join(runner.work_dir, f'schedule_rank{runner.rank}.json'), 'w') as f:
        json.dump(out, f)
    finish_distributed()
