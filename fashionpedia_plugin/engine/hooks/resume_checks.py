"""What ``--resume`` checks and fixes in a checkpoint before mmengine restores it
(:class:`~.checkpoint_provenance_hook.CheckpointProvenanceHook` calls these).

- :func:`check_resumed_schedule`: the checkpoint's schedule (``meta['fashionpedia']
  ['schedule']``) against this run's, in units of images (total batch, rescaled or kept).
- :func:`relocate_checkpoint_paths`: the absolute paths of ``best_*.pth`` and the last
  checkpoint that mmengine keeps in ``message_hub.runtime_info``; restored as they are, the
  resumed run's CheckpointHook would *delete another folder's* ``best_*.pth`` at its first
  better score (a copied work dir, or ``--resume /other/iter_N.pth``).
- :func:`check_same_start`: every rank resumed from the same iteration (node-local work dirs
  where only rank 0's holds the checkpoint would otherwise train out of step).
"""
import os.path as osp

# the schedule's values a resumed run takes from the checkpoint: mmengine restores the
# optimizer's param groups (lr, initial_lr) and every scheduler's state (begin, end, milestones);
# max_iters and the validation interval are read from this run's config
RESTORED = ('lr', 'milestones', 'warmup_iters')
# the keys of a schedule record (schedule_scaling.resolve_schedule) the check needs
RECORD_KEYS = ('enable', 'world_size', 'batch_per_process', 'total_batch', 'factor', 'lr',
               'max_iters', 'milestones', 'warmup_iters')


class ScheduleMismatchError(ValueError):
    """``--resume`` of a checkpoint whose schedule is in other units than this run's (another
    total batch, or rescaled where this run keeps it as written, or the other way)."""


def _procs(n):
    return f'{n} process' + ('' if n == 1 else 'es')


def _schedule_text(record):
    return (f'{record["max_iters"]} iterations, lr {record["lr"]:g}, drops at '
            f'{"/".join(map(str, record["milestones"] or [])) or "none"}, warm-up '
            f'{record["warmup_iters"] or 0}')


def check_resumed_schedule(saved, now):
    """Compare the schedule a checkpoint was trained with (``saved``) with this run's (``now``,
    ``cfg.auto_scale_schedule``).

    Raises :class:`ScheduleMismatchError` for another total batch when either run rescales its
    schedule, and for a run that rescales the schedule (by a factor other than 1) resuming one
    that kept it as written, or the other way: the checkpoint's iterations and drops are in other
    units than this run's. Returns warning lines for what continues from the checkpoint instead
    of the config, and updates ``now`` to the values the run will really use (so the next
    checkpoint's record is true). A record without the keys it needs (an older checkpoint) is
    not checked, and says so.
    """
    missing = [k for k in RECORD_KEYS if k not in saved]
    if missing:
        return [
            f'the checkpoint\'s schedule record lacks {", ".join(missing)}: its schedule '
            'was not compared with this run\'s'
        ]
    then_batch, now_batch = saved['total_batch'], now['total_batch']
    kept_then, kept_now = not saved['enable'], not now['enable']
    as_then = ''
    if kept_then != kept_now:
        as_then = (' with --keep-schedule' if kept_then else ' without --keep-schedule') + \
            ', as the checkpoint\'s run'
    if then_batch != now_batch and not (kept_then and kept_now):
        ws_then, ws_now = saved['world_size'], max(1, now['world_size'])
        ways = []
        if then_batch % ws_now == 0:
            ways.append(f'keep the total batch (--cfg-options train_dataloader.batch_size='
                        f'{then_batch // ws_now}{as_then})')
        if ws_then != ws_now:
            ways.append(f'resume on {_procs(ws_then)}{as_then}')
        ways = ways or [f'resume at total batch {then_batch}{as_then}']
        raise ScheduleMismatchError(
            f'cannot resume: the checkpoint was trained at total batch {then_batch} '
            f'({_procs(ws_then)} x {saved["batch_per_process"]}), this run has {now_batch} '
            f'({_procs(ws_now)} x {now["batch_per_process"]}): its iterations, lr drops and lr '
            f'are in units of batch {then_batch}. ' + ', or '.join(ways).capitalize())
    rescaling = now if kept_then else saved  # the run of the two that rescaled, if they differ
    if kept_then != kept_now and rescaling['factor'] != 1:
        how = ('kept the schedule as written (--keep-schedule or auto_scale_schedule.enable='
               'False)', 'rescales it by images seen') if kept_then else (
                   'rescaled the schedule by images seen', 'keeps it as written')
        fix = 'add --keep-schedule' if kept_then else \
            'drop --keep-schedule (or set auto_scale_schedule.enable=True)'
        raise ScheduleMismatchError(
            f'cannot resume: the checkpoint\'s run {how[0]} ({_schedule_text(saved)}), this run '
            f'{how[1]} ({_schedule_text(now)}): the checkpoint\'s iterations and drops are in '
            f'the other units. Resume as it was trained: {fix}')
    lines = []
    if then_batch != now_batch:
        if now['max_iters'] is None:  # epoch-based: never rescaled
            lines.append(
                f'resuming at total batch {now_batch} a checkpoint trained at total batch '
                f'{then_batch} (epoch-based, schedule kept as written): epochs and lr drops '
                f'continue as counted, at {then_batch / now_batch:g}x the lr per image')
        else:
            lines.append(
                f'resuming at total batch {now_batch} a checkpoint trained at total batch '
                f'{then_batch}, both with the schedule kept as written: iterations, lr drops '
                f'and lr continue as counted, so from here each iteration sees '
                f'{now_batch / then_batch:g}x the images it saw (mmengine\'s behaviour)')
    changed = [k for k in RESTORED if saved[k] != now.get(k)]
    if changed:
        lines.append('the lr schedule continues as the checkpoint has it (mmengine restores the '
                     'optimizer\'s lr and the schedulers\' state): ' +
                     ', '.join(f'{k} {saved[k]} (this run\'s config: {now.get(k)})'
                               for k in changed) +
                     '; max_iters and the validation interval are this run\'s')
        for k in changed:
            now[k] = saved[k]
    return lines


def checkpoint_dir(work_dir, out_dir=None):
    """Where CheckpointHook writes: ``work_dir``, or ``out_dir/<work_dir's name>`` when
    ``default_hooks.checkpoint.out_dir`` is set (mmengine ``CheckpointHook.before_train``)."""
    if out_dir is None or out_dir == work_dir:
        return work_dir
    return osp.join(out_dir, osp.basename(work_dir.rstrip(osp.sep)))


def in_folder(path, folder):
    """Does ``path`` lie directly in ``folder`` (the same directory, links resolved)?"""
    try:
        return osp.samefile(osp.dirname(path), folder)
    except OSError:
        return False


def relocate_checkpoint_paths(checkpoint, ckpt_dir):
    """Point the checkpoint's ``runtime_info`` paths (``best_ckpt``, ``best_ckpt_<key>``,
    ``last_ckpt``) that lie outside ``ckpt_dir`` at the file of the same name in it, or drop
    them where it has none; return the lines saying what was changed. Remote paths
    (``s3://...``) are left as they are."""
    info = (checkpoint.get('message_hub') or {}).get('runtime_info')
    lines = []
    if not isinstance(info, dict) or '://' in str(ckpt_dir):
        return lines
    for key in [k for k in info if k.startswith('best_ckpt') or k == 'last_ckpt']:
        path = info[key]
        if not isinstance(path, str) or '://' in path or in_folder(path, ckpt_dir):
            continue
        local = osp.join(ckpt_dir, osp.basename(path))
        if osp.isfile(local):
            info[key] = local
            lines.append(f'{key}: {path} is outside this run\'s checkpoint folder; using its '
                         f'copy {local} (the original is never removed by this run)')
        else:
            del info[key]
            lines.append(f'{key}: {path} is outside this run\'s checkpoint folder and has no '
                         f'copy in it; forgotten, so this run never removes it')
    return lines


def check_same_start(iters):
    """``iters``: the iteration each rank starts from (gathered). Raises
    :class:`ScheduleMismatchError` unless all are equal."""
    if len(set(iters)) > 1:
        at = ', '.join(f'rank {r}: {i}' for r, i in enumerate(iters))
        raise ScheduleMismatchError(
            f'cannot resume: the ranks start from different iterations ({at}): each rank reads '
            'the checkpoint from its own work dir, and they differ (node-local folders?). Give '
            'every node the same checkpoint (a shared work dir, or --resume FILE on a path '
            'every node has)')
