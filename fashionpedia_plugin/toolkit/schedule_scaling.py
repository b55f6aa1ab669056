"""Schedules that follow the GPU count: ``tools/train.py`` rescales a config by images seen.

Every schedule here is written for a reference total batch, ``auto_scale_lr.base_batch_size``
(16 = 8 GPUs x 2 for the paper configs). A run on another total batch ``B`` keeps the number of
*images* of each phase and the lr per image, so that 4 GPUs x 2 run the same experiment as 8 x 2:

    factor k = B / base_batch_size
    lr                      x k          (linear scaling, as mmdet's --auto-scale-lr)
    max_iters, milestones,
    warm-up (LinearLR end),
    val/checkpoint interval / k          (rounded to whole iterations, at least 1)

Logging intervals stay in iterations (our choice: they set the console rhythm, not the
experiment). ``auto_scale_schedule.enable=False`` (``tools/train.py --keep-schedule``) keeps the
config as written; mmdet's ``--auto-scale-lr`` then scales the lr alone, as in mmdet.

The resolved values are written back into the config (``cfg.auto_scale_schedule``), so they are
in the log's config dump, in ``meta['cfg']`` of every checkpoint and, structured, in
``meta['fashionpedia']['schedule']`` (:class:`~fashionpedia_plugin.engine.hooks.
CheckpointProvenanceHook`), which also refuses a ``--resume`` whose schedule is in other units
(another total batch unless both runs keep the schedule; rescaled vs kept).
"""
import os

SCALED_SCHEDULER_KEYS = ('begin', 'end', 'milestones', 'T_max')


def world_size_from_env(launcher):
    """Processes of the job before ``torch.distributed`` is initialised: what the launcher put
    in the environment (torchrun: ``WORLD_SIZE``; slurm: ``SLURM_NTASKS``; mpi:
    ``OMPI_COMM_WORLD_SIZE``), 1 without a launcher."""
    names = dict(
        pytorch=('WORLD_SIZE', ),
        slurm=('SLURM_NTASKS', 'SLURM_NPROCS'),
        mpi=('OMPI_COMM_WORLD_SIZE', 'PMI_SIZE')).get(launcher, ())
    for name in names:
        if os.environ.get(name, '').isdigit():
            return int(os.environ[name])
    return 1


def nodes_from_env(launcher):
    """Machines of the job, from the launcher's environment (torchrun: ``WORLD_SIZE`` /
    ``LOCAL_WORLD_SIZE``; slurm: ``SLURM_NNODES``; mpi: ``OMPI_COMM_WORLD_SIZE`` /
    ``OMPI_COMM_WORLD_LOCAL_SIZE``), 1 when it does not say."""
    env = os.environ

    def ratio(total, local):
        t, n = env.get(total, ''), env.get(local, '')
        return int(t) // int(n) if t.isdigit() and n.isdigit() and int(n) > 0 else 1

    if launcher == 'pytorch':
        return ratio('WORLD_SIZE', 'LOCAL_WORLD_SIZE')
    if launcher == 'slurm':
        n = env.get('SLURM_NNODES', env.get('SLURM_JOB_NUM_NODES', ''))
        return int(n) if n.isdigit() else 1
    if launcher == 'mpi':
        return ratio('OMPI_COMM_WORLD_SIZE', 'OMPI_COMM_WORLD_LOCAL_SIZE')
    return 1


def _scale(value, factor):
    if isinstance(value, (list, tuple)):
        return [_scale(v, factor) for v in value]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if value == 0:
        return 0
    return max(1, int(round(value / factor)))


def _sync_bn(obj):
    """Does any ``norm_cfg`` in the model config ask for SyncBN?"""
    if isinstance(obj, dict):
        if obj.get('type') in ('SyncBN', 'MMSyncBN'):
            return True
        return any(_sync_bn(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return any(_sync_bn(v) for v in obj)
    return False


def _warmup_end(cfg):
    for s in cfg.get('param_scheduler') or []:
        if s.get('type') == 'LinearLR' and not s.get('by_epoch', True):
            return s.get('end')
    return None


def _milestones(cfg):
    for s in cfg.get('param_scheduler') or []:
        if s.get('type') == 'MultiStepLR':
            return list(s.get('milestones', []))
    return []


def resolve_schedule(cfg, world_size, keep=False):
    """Rescale ``cfg`` in place for ``world_size`` processes; return the record (a dict).

    Only iteration-based loops are rescaled (every config here); an epoch-based config is left
    as it is (an epoch already counts images) and says so.
    """
    per_gpu = cfg.train_dataloader.batch_size
    total = world_size * per_gpu
    auto = dict(cfg.get('auto_scale_schedule') or {})
    # a config dumped by an earlier run (work_dir/<name>.py) is already in units of the batch
    # it resolved for: scale from there, never twice
    base = auto.get('total_batch') or (cfg.get('auto_scale_lr') or {}).get('base_batch_size')
    iter_based = 'max_iters' in (cfg.get('train_cfg') or {})
    enable = bool(auto.get('enable', False)) and not keep and base is not None and iter_based
    factor = total / base if enable else 1.0
    if enable and factor != 1.0:
        cfg.optim_wrapper.optimizer.lr = cfg.optim_wrapper.optimizer.lr * factor
        tc = cfg.train_cfg
        tc.max_iters = _scale(tc.max_iters, factor)
        if tc.get('val_interval'):
            tc.val_interval = _scale(tc.val_interval, factor)
        hooks = cfg.get('default_hooks') or {}
        ckpt = hooks.get('checkpoint')
        if ckpt and not ckpt.get('by_epoch', True) and ckpt.get('interval', -1) > 0:
            ckpt.interval = _scale(ckpt.interval, factor)
        for s in cfg.get('param_scheduler') or []:
            if s.get('by_epoch', True):
                continue
            for key in SCALED_SCHEDULER_KEYS:
                if key in s:
                    s[key] = _scale(s[key], factor)
        if (cfg.get('auto_scale_lr') or {}).get('base_batch_size'):
            # the lr is now the one for `total`: the dumped config must say so, or a rerun of it
            # with --keep-schedule --auto-scale-lr scales from the original base (x 1 at 16 ->
            # 16 when it was resolved for 8), and the recipe check reads another GPU count
            cfg.auto_scale_lr.base_batch_size = total
    record = dict(
        enable=enable,
        world_size=world_size,
        batch_per_process=per_gpu,
        total_batch=total,
        base_batch_size=base,
        factor=factor,
        lr=cfg.optim_wrapper.optimizer.lr,
        max_iters=(cfg.get('train_cfg') or {}).get('max_iters'),
        milestones=_milestones(cfg),
        warmup_iters=_warmup_end(cfg),
        val_interval=(cfg.get('train_cfg') or {}).get('val_interval'),
        sync_bn=_sync_bn(cfg.get('model')))
    auto.update(record)
    cfg.auto_scale_schedule = auto
    return record


def rescaled_options(record, cfg_options):
    """A warning line when ``--cfg-options`` set a value that was rescaled with the schedule
    (``train_cfg.max_iters=4`` on 1 GPU x 2 of a 16-image config is 32 iterations), or None:
    an option is written in the config's units, like the config; ``--keep-schedule`` keeps it
    as given."""
    if not record['enable'] or record['factor'] == 1.0:
        return None
    fixed = ('optim_wrapper.optimizer.lr', 'train_cfg.max_iters', 'train_cfg.val_interval',
             'default_hooks.checkpoint.interval')
    keys = [
        k for k in cfg_options or () if k in fixed
        or k.startswith('param_scheduler.') and k.rsplit('.', 1)[-1] in SCALED_SCHEDULER_KEYS
    ]
    if not keys:
        return None
    return (f'warning: --cfg-options {", ".join(keys)} are in the config\'s units (total batch '
            f'{record["base_batch_size"]}) and were rescaled with the schedule by '
            f'{record["factor"]:g} (lr x, iterations /); --keep-schedule keeps them as given')


def _n(v):
    return f'{v:,}' if isinstance(v, int) else str(v)


def describe(record, keep=False):
    """The start-up lines: what was done to the schedule, and the BN batch."""
    r = record
    procs = f'{r["world_size"]} process' + ('es' if r['world_size'] != 1 else '')
    head = f'total batch {r["total_batch"]} ({procs} x {r["batch_per_process"]})'
    body = (f'lr {r["lr"]:g}, {_n(r["max_iters"])} iterations, drops at '
            f'{"/".join(_n(m) for m in r["milestones"]) or "none"}, warm-up '
            f'{_n(r["warmup_iters"] or 0)}, validation every {_n(r["val_interval"])}')
    if r['enable'] and r['factor'] != 1.0:
        lines = [
            f'{head}: {body} (rescaled by images seen from the config\'s total batch '
            f'{r["base_batch_size"]}; --keep-schedule keeps it as written)'
        ]
    elif r['enable']:
        lines = [f'{head} = the config\'s reference batch: {body}']
    else:
        why = '--keep-schedule' if keep else 'auto_scale_schedule.enable is False' \
            if r['base_batch_size'] is not None else 'no auto_scale_lr.base_batch_size'
        b, t = r['base_batch_size'], r['total_batch']
        ref = f' (written for total batch {b}: this run sees {t / b:g}x its images at ' \
            f'{b / t:g}x its lr per image)' if b and b != t else ''
        lines = [f'{head}: schedule kept as written{ref} ({why}): {body}']
    if r['sync_bn']:
        if r['world_size'] > 1:
            lines.append(f'BN batch {r["total_batch"]} (SyncBN over {r["world_size"]} '
                         f'processes)')
        else:
            lines.append(f'warning: BN batch {r["batch_per_process"]}: SyncBN cannot sync in '
                         f'a single-process run (mmengine reverts it to BN); the recipe '
                         f'normalises over the total batch')
    return lines
