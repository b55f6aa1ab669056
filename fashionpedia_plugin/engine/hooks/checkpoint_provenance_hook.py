"""What a checkpoint records about how it was made, and the checks that use it at start-up."""
from mmdet.registry import HOOKS
from mmengine.hooks import CheckpointHook, Hook

from .resume_checks import (check_resumed_schedule, check_same_start, checkpoint_dir,
                            relocate_checkpoint_paths)

META_KEY = 'fashionpedia'


def evaluated_split(cfg, keys=('val_evaluator', 'test_evaluator')):
    """The annotation file of the first evaluator in ``keys`` that has one, or None (validation
    first: the split that selects ``best_*``)."""
    for key in keys:
        ev = cfg.get(key)
        if isinstance(ev, dict) and ev.get('ann_file'):
            return ev['ann_file']
    return None


@HOOKS.register_module()
class CheckpointProvenanceHook(Hook):
    """Write ``meta['fashionpedia']`` into every checkpoint:

    - ``schedule``: the schedule as resolved for this run's layout (``cfg.auto_scale_schedule``,
      written by ``tools/train.py``: total batch, processes, lr, iterations, drops, warm-up);
    - ``selected_on``: the annotation file validation ran on, the split on which any
      ``best_*.pth`` (``CheckpointHook.save_best``) was selected. ``tools/test.py`` warns when
      such a checkpoint is evaluated on that same split: its number is biased upwards.

    On ``--resume`` it refuses, before the first iteration, a checkpoint whose schedule was
    resolved for another total batch, or rescaled where this run keeps it as written (or the
    other way): the iteration counter, the drops and the lr in the checkpoint are in other units,
    and continuing would silently run another schedule (:func:`.check_resumed_schedule`; both
    runs with ``--keep-schedule`` on another total batch resume, as mmengine does, with a
    warning). The paths of ``best_*.pth`` and of the last checkpoint restored with the message
    hub are moved into this run's checkpoint folder (:func:`.relocate_checkpoint_paths`), and
    before the first iteration every rank must start from the same one
    (:func:`.check_same_start`). It also drops ``meta['config']``, a key mmengine's
    ``Runner.resume`` would execute as a Python config (``Config.fromstring``); mmengine writes
    ``meta['cfg']``, which nothing runs.
    """
    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint):
        schedule = runner.cfg.get('auto_scale_schedule')
        checkpoint['meta'][META_KEY] = dict(
            schedule=dict(schedule) if schedule is not None else None,
            selected_on=evaluated_split(runner.cfg),
            world_size=runner.world_size)

    def after_load_checkpoint(self, runner, checkpoint):
        meta = checkpoint.get('meta') or {}
        if meta.pop('config', None) is not None:
            runner.logger.warning('the checkpoint\'s meta["config"] (Python text that mmengine '
                                  'would execute on resume) was dropped')
        if not runner._resume:
            return
        saved = ((meta.get(META_KEY) or {}).get('schedule') or {})
        now = runner.cfg.get('auto_scale_schedule')
        lines = check_resumed_schedule(saved, now) if saved and now is not None else []
        hook = next((h for h in runner.hooks if isinstance(h, CheckpointHook)), None)
        folder = checkpoint_dir(runner.work_dir, hook.out_dir if hook else None)
        for line in lines + relocate_checkpoint_paths(checkpoint, folder):
            runner.logger.warning(line)

    def before_train(self, runner):
        if runner.world_size == 1:
            return
        # every rank gathers, resumed or not: tools/train.py --resume decides on each rank from
        # its own work dir, so a node that found nothing (and loads the config's load_from)
        # must meet the others here; skipping it would leave them waiting in this collective
        # while it trains (a hang until the NCCL timeout, not one line)
        from mmengine.dist import all_gather_object
        check_same_start(all_gather_object(runner.iter))
