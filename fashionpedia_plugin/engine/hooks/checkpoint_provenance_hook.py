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
    resolved for another total batch, or rescaled where this run keeps it as written (or the
    other way): the iteration counter, the drops and the lr in the checkpoint are in other units,
    and continuing would silently run another schedule (:func:`check_resumed_schedule`; both runs
    with ``--keep-schedule`` on another total batch resume, as mmengine does, with a warning).
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
        now = runner.cfg.get('auto_scale_schedule')
        if saved and now is not None:
            for line in check_resumed_schedule(saved, now):
                runner.logger.warning(line)


# the schedule's values a resumed run takes from the checkpoint: mmengine restores the
# optimizer's param groups (lr, initial_lr) and every scheduler's state (begin, end, milestones);
# max_iters and the validation interval are read from this run's config
RESTORED = ('lr', 'milestones', 'warmup_iters')


def _values(r):
    return (f'{r.get("max_iters")} iterations, lr {r.get("lr"):g}, drops at '
            f'{"/".join(map(str, r.get("milestones") or [])) or "none"}, warm-up '
            f'{r.get("warmup_iters") or 0}')


def check_resumed_schedule(saved, now):
    """Compare the schedule a checkpoint was trained with (``saved``, its
    ``meta['fashionpedia']['schedule']``) with this run's (``now``, ``cfg.auto_scale_schedule``).

    Raises :class:`ScheduleMismatchError` for another total batch when either run rescales its
    schedule, and for a run that rescales the schedule resuming one that kept it as written (or
    the other way): the checkpoint's iterations and drops are in other units than this run's.
    Returns warning lines for what continues from the checkpoint instead of the config, and
    updates ``now`` to the values the run will really use (so the next checkpoint's record is
    true).
    """
    a, b = saved.get('total_batch'), now.get('total_batch')
    kept_then, kept_now = not saved.get('enable'), not now.get('enable')
    keep_flag = ' with --keep-schedule, as the checkpoint\'s run' if kept_then and not kept_now \
        else ''
    if a is not None and b is not None and a != b and not (kept_then and kept_now):
        ws_then, ws_now = saved.get('world_size'), max(1, now.get('world_size', 1))
        ways = []
        if a % ws_now == 0:
            ways.append(f'keep the total batch (--cfg-options train_dataloader.batch_size='
                        f'{a // ws_now}{keep_flag})')
        if ws_then is not None and ws_then != ws_now:
            ways.append(f'resume on {_procs(ws_then)}{keep_flag}')
        raise ScheduleMismatchError(
            f'cannot resume: the checkpoint was trained at total batch {a} '
            f'({_procs(ws_then)} x {saved.get("batch_per_process")}), this run has {b} '
            f'({_procs(ws_now)} x {now.get("batch_per_process")}): its iterations, lr drops '
            f'and lr are in units of batch {a}. ' + ', or '.join(ways).capitalize())
    differs = any(saved.get(k) != now.get(k) for k in ('max_iters', ) + RESTORED)
    if kept_then != kept_now and differs:
        how = ('kept the schedule as written (--keep-schedule or auto_scale_schedule.enable='
               'False)', 'rescales it by images seen') if kept_then else (
                   'rescaled the schedule by images seen', 'keeps it as written')
        fix = 'add --keep-schedule' if kept_then else \
            'drop --keep-schedule (or set auto_scale_schedule.enable=True)'
        raise ScheduleMismatchError(
            f'cannot resume: the checkpoint\'s run {how[0]} ({_values(saved)}), this run '
            f'{how[1]} ({_values(now)}): the checkpoint\'s iterations and drops are in the '
            f'other units. Resume as it was trained: {fix}')
    lines = []
    if a is not None and b is not None and a != b:
        lines.append(
            f'resuming at total batch {b} a checkpoint trained at total batch {a}, both with '
            f'the schedule kept as written: iterations, lr drops and lr continue as counted, so '
            f'from here each iteration sees {b / a:g}x the images it saw (mmengine\'s behaviour)')
    changed = [k for k in RESTORED if k in saved and saved[k] != now.get(k)]
    if changed:
        lines.append('the lr schedule continues as the checkpoint has it (mmengine restores the '
                     'optimizer\'s lr and the schedulers\' state): ' +
                     ', '.join(f'{k} {saved[k]} (this run\'s config: {now.get(k)})'
                               for k in changed) +
                     '; max_iters and the validation interval are this run\'s')
        for k in changed:
            now[k] = saved[k]
    return lines


def _procs(n):
    return f'{n} process' + ('' if n == 1 else 'es')
