"""Which checkpoint ``tools/train.py --resume`` continues from, and whether it fits this run.

mmengine's bare ``--resume`` reads ``work_dir/last_checkpoint``, which holds the *absolute*
path CheckpointHook wrote: a work dir copied to another machine or folder resumes from the
original folder (or from nothing, if that is gone), and a moved one fails with a traceback
although ``iter_N.pth`` lies beside ``last_checkpoint``. Here the work dir's own checkpoints
come first (our choice, what a user who copied the folder means): the file ``last_checkpoint``
names if it is in the work dir; else the work dir's file of that name; else the work dir's
newest ``iter_N.pth``/``epoch_N.pth`` (mmengine's default ``filename_tmpl``); each way but the
first is said in the log.
"""
import os
import os.path as osp
import re

from ..apis.checkpoint import CheckpointMismatchError, check_checkpoint
from ..engine.hooks.resume_checks import in_folder
from .cli import CLIError

CHECKPOINT_NAME = re.compile(r'^(iter|epoch)_(\d+)\.pth$')


def newest_checkpoint(work_dir):
    """The folder's ``iter_N.pth`` of the largest N, else its ``epoch_N.pth`` of the largest N
    (a folder holding both changed its loop type: our choice), or None."""
    found = []
    for name in os.listdir(work_dir) if osp.isdir(work_dir) else ():
        m = CHECKPOINT_NAME.match(name)
        if m and osp.isfile(osp.join(work_dir, name)):
            found.append((m.group(1) == 'iter', int(m.group(2)), name))
    return osp.join(work_dir, max(found)[2]) if found else None


def latest_in_work_dir(work_dir, ckpt_dir=None):
    """``(checkpoint or None, note or None)`` for a bare ``--resume`` in ``work_dir``, whose
    checkpoints are in ``ckpt_dir`` (default: the work dir; :func:`.checkpoint_dir` when
    ``default_hooks.checkpoint.out_dir`` is set); the note is a log line saying why it is not
    the path in ``last_checkpoint``. A remote path there (``s3://...``) is used as it is."""
    work_dir = osp.abspath(work_dir)
    ckpt_dir = work_dir if ckpt_dir is None or '://' in ckpt_dir else osp.abspath(ckpt_dir)
    record = osp.join(work_dir, 'last_checkpoint')
    newest = newest_checkpoint(ckpt_dir)
    if not osp.isfile(record):
        if newest is None:
            return None, None
        return newest, (f'--resume: {work_dir} has no last_checkpoint file; resuming from its '
                        f'newest checkpoint {osp.basename(newest)}')
    with open(record) as f:
        named = f.read().strip()
    if '://' in named or named and osp.isfile(named) and in_folder(named, ckpt_dir):
        return named, None
    said = named or 'nothing (an empty file)'
    local = osp.join(ckpt_dir, osp.basename(named)) if named else None
    where = 'outside the work dir' if named and osp.isfile(named) else 'not found'
    if local and osp.isfile(local):
        return local, (f'--resume: last_checkpoint names {said} ({where}: the work dir was '
                       f'copied or moved); resuming from the work dir\'s {osp.basename(local)}')
    if newest is not None:
        return newest, (f'--resume: last_checkpoint names {said} ({where}); resuming from the '
                        f'work dir\'s newest checkpoint {osp.basename(newest)}')
    if named and osp.isfile(named):
        return named, (f'--resume: {ckpt_dir} holds no checkpoint; resuming from {named}, '
                       'which its last_checkpoint names')
    raise CLIError(f'cannot resume: {record} names {said}, which does not exist, and '
                   f'{ckpt_dir} holds no iter_N.pth or epoch_N.pth; give the checkpoint '
                   '(--resume FILE)')


def check_resume_weights(runner, checkpoint, loaded):
    """``--resume`` continues the run that wrote ``checkpoint``: its weights must fit this
    model exactly (mmengine would load what matches, then fail on the optimizer state with a
    ``ValueError`` traceback, or train on with a half-loaded model)."""
    try:
        check_checkpoint(runner.model, checkpoint, False, runner.logger, loaded)
    except CheckpointMismatchError as e:
        raise CheckpointMismatchError(
            f'cannot resume: {e.why} --resume continues the run that wrote it (its config); to '
            f'start a new run from its weights, use --cfg-options load_from={checkpoint} '
            '(with --allow-partial for the weights that fit)') from None


def resume_seed(cfg, checkpoint):
    """Set ``cfg.randomness.seed`` to the seed of the checkpoint resumed from; a log line when
    that changed the config's, else None.

    Why: mmengine's ``Runner.train()`` builds the train loop, and with it the sampler seeded
    with the runner's seed, before ``load_or_resume()`` restores the checkpoint's seed
    (mmengine runner/runner.py). A config without ``randomness.seed`` (mmdet's default, and
    the paper configs) so resumed with a new data order: the batches skipped to reach the
    iteration were another permutation's, and the rest of the epoch revisited images.
    """
    seed = (checkpoint.get('meta') or {}).get('seed') if isinstance(checkpoint, dict) else None
    randomness = dict(cfg.get('randomness') or {})
    before = randomness.get('seed')
    if seed is None or before == seed:
        return None
    cfg.randomness = dict(randomness, seed=seed)
    said = f'the config\'s seed {before}' if before is not None else 'a new random seed'
    return (f'--resume: seed {seed} of the checkpoint, not {said}, so that the data order and '
            'augmentations continue where it stopped')
