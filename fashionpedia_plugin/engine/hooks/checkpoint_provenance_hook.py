"""What a checkpoint records about how it was made, and the checks that use it at start-up."""
from mmdet.registry import HOOKS
from mmengine.hooks import Hook

META_KEY = 'fashionpedia'


class ScheduleMismatchError(ValueError):
    """``--resume`` on a total batch other than the one the checkpoint's schedule was set for."""


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
    resolved for another total batch (unless both runs keep the config as written,
    ``--keep-schedule``, mmengine's own behaviour): the iteration counter, the drops and the lr
    in the checkpoint are in that batch's units, and continuing would silently run another schedule.
    It also drops ``meta['config']``, a key mmengine's ``Runner.resume`` would execute as a
    Python config (``Config.fromstring``); mmengine writes ``meta['cfg']``, which nothing runs.
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
        now = runner.cfg.get('auto_scale_schedule') or {}
        a, b = saved.get('total_batch'), now.get('total_batch')
        scaled = saved.get('enable') or now.get('enable')
        if a is not None and b is not None and a != b and scaled:
            ws_then, ws_now = saved.get('world_size'), max(1, now.get('world_size', 1))
            ways = []
            if a % ws_now == 0:
                ways.append(f'keep the total batch (--cfg-options train_dataloader.batch_size='
                            f'{a // ws_now})')
            if ws_then is not None and ws_then != ws_now:
                ways.append(f'resume on {_procs(ws_then)}')
            raise ScheduleMismatchError(
                f'cannot resume: the checkpoint was trained at total batch {a} '
                f'({_procs(ws_then)} x {saved.get("batch_per_process")}), this run has {b} '
                f'({_procs(ws_now)} x {now.get("batch_per_process")}): its iterations, lr drops '
                f'and lr are in units of batch {a}. ' + ', or '.join(ways).capitalize())


def _procs(n):
    return f'{n} process' + ('' if n == 1 else 'es')
