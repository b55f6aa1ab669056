"""Open a checkpoint safely, and check that it fits the model, before any step runs.

:func:`load_checkpoint_file` opens a checkpoint with torch's weights-only unpickler (this project's
checkpoints hold only tensors, containers and numbers: ``WeightsOnlyCheckpointHook``,
``compat.py``): a pickle that would run code, an empty, truncated or non-checkpoint file end in one
:class:`CheckpointLoadError` line naming the file and the cause. Full unpickling only when the user
asks: ``trust=True`` (``--trust-checkpoint`` on the tools), or ``TRUST_ENV`` = torch's own switch
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` for library use.

mmengine loads state dicts with ``strict=False``: a checkpoint of another config (R18 into R50,
46 vs 47 classes, no attribute head) only logs size mismatches and missing keys, then the run
goes on with random weights and reports AP 0 with exit code 0. :func:`check_checkpoint` compares
keys and shapes first and raises :class:`CheckpointMismatchError`, one line: counts, the first
keys, and the config the checkpoint was trained with (mmengine stores it in ``meta``).
"""
import contextlib
import os
import os.path as osp
import pickle
import re

TRUST_ENV = 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'
MAGIC = {
    b'\xff\xd8\xff': 'a JPEG image',
    b'\x89PNG': 'a PNG image',
    b'{': 'JSON text',
    b'[': 'JSON text',
    b'<': 'XML/HTML text',
    b'version https://git-lfs': 'a Git LFS pointer'
}

# Keys a checkpoint may lack without harm (BN's counter; not used with momentum set).
OPTIONAL_SUFFIXES = ('num_batches_tracked', )
ATTRIBUTE_KEYS = ('fc_attr.', )


class CheckpointMismatchError(ValueError):
    """The checkpoint's weights do not fit the model built from the config; ``why``: the
    message without the advice (a caller with other advice, ``--resume``, says its own)."""

    def __init__(self, message, why=None):
        super().__init__(message)
        self.why = why or message


class CheckpointLoadError(ValueError):
    """A checkpoint that cannot be opened safely: damaged, not a checkpoint, or asking to run
    code; one line naming the file and the cause."""


def trusted(trust=None):
    """Full unpickling asked for: ``trust`` (the flag) or ``TRUST_ENV=1``."""
    return bool(trust) or os.environ.get(TRUST_ENV, '0').lower() in ('1', 'y', 'yes', 'true')


def trust_checkpoints():
    """``--trust-checkpoint``: every load in this process unpickles fully (torch's own switch,
    read at each ``torch.load`` without an explicit ``weights_only``: mmengine's loaders too)."""
    os.environ[TRUST_ENV] = '1'


@contextlib.contextmanager
def _full_unpickling():
    """:data:`TRUST_ENV` for the duration of one load the caller asked to trust."""
    old = os.environ.get(TRUST_ENV)
    os.environ[TRUST_ENV] = '1'
    try:
        yield
    finally:
        if old is None:
            del os.environ[TRUST_ENV]
        else:
            os.environ[TRUST_ENV] = old


def _cause(filename, error):
    """One line: why ``filename`` did not load."""
    msg = str(error).strip().splitlines()
    text = ' '.join(msg)
    if osp.isfile(filename) and osp.getsize(filename) == 0:
        return 'the file is empty'
    head = open(filename, 'rb').read(32) if osp.isfile(filename) else b''
    for magic, what in MAGIC.items():
        if head.startswith(magic):
            return f'not a PyTorch checkpoint (it is {what})'
    if head and not head.startswith((b'PK', b'\x80')):  # torch's zip format / a raw pickle
        kind = 'a text file' if all(32 <= b < 127 or b in b'\t\r\n' for b in head) else \
            'of an unknown format'
        return f'not a PyTorch checkpoint (it is {kind})'
    # 'Unsupported global: GLOBAL x ...' or 'unsupported GLOBAL x whose module ... is blocked'
    found = re.search(r'GLOBAL ([\w.]+)', text)
    if found:
        return (f'refused to unpickle {found.group(1)}: loading it could run code (weights-only '
                f'loading allows tensors, containers and numbers). Only if you trust this '
                f'file: --trust-checkpoint (library: {TRUST_ENV}=1)')
    if 'central directory' in text or 'PytorchStreamReader' in text or isinstance(
            error, EOFError) or 'truncated' in text or 'Ran out of input' in text:
        return f'damaged or truncated ({msg[0] if msg else error.__class__.__name__})'
    if 'Weights only load failed' in text:
        detail = text.split('WeightsUnpickler error:')[-1].strip()[:120]
        return (f'refused by weights-only loading ({detail}). Only if you trust this file: '
                f'--trust-checkpoint (library: {TRUST_ENV}=1)')
    return f'not a PyTorch checkpoint ({error.__class__.__name__}: {msg[0] if msg else ""})'


def load_checkpoint_file(filename, map_location='cpu', trust=None):
    """mmengine's ``CheckpointLoader.load_checkpoint`` (every scheme: local, ``http://``,
    ``torchvision://`` ...) with weights-only unpickling unless :func:`trusted`; any failure to
    open the file raises :class:`CheckpointLoadError`."""
    from mmengine.runner.checkpoint import CheckpointLoader

    try:
        with _full_unpickling() if trust else contextlib.nullcontext():
            return CheckpointLoader.load_checkpoint(filename, map_location=map_location)
    except (pickle.UnpicklingError, EOFError, RuntimeError, ValueError, KeyError, AttributeError,
            ImportError, TypeError) as e:
        raise CheckpointLoadError(f'checkpoint {filename}: {_cause(filename, e)}') from None


def _state_dict(checkpoint):
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else {}
    return {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}


def compare_state_dicts(model_state, ckpt_state):
    """``(missing, unexpected, mismatched)``: key lists; mismatched as ``(key, ckpt, model)``."""
    missing = [k for k in model_state if k not in ckpt_state and not k.endswith(OPTIONAL_SUFFIXES)]
    unexpected = [k for k in ckpt_state if k not in model_state]
    mismatched = [(k, tuple(ckpt_state[k].shape), tuple(v.shape)) for k, v in model_state.items()
                  if k in ckpt_state and hasattr(ckpt_state[k], 'shape')
                  and tuple(ckpt_state[k].shape) != tuple(v.shape)]
    return missing, unexpected, mismatched


def trained_with(checkpoint):
    """The experiment/config name stored by mmengine in the checkpoint, or None."""
    meta = checkpoint.get('meta', {}) if isinstance(checkpoint, dict) else {}
    name = meta.get('experiment_name') or ''
    # mmengine: '<config name>_<YYYYmmdd>_<HHMMSS>'
    parts = name.rsplit('_', 2)
    return parts[0] if len(parts) == 3 and parts[1].isdigit() else (name or None)


def check_checkpoint(model, filename, allow_partial=False, logger=None, checkpoint=None):
    """Raise :class:`CheckpointMismatchError` unless ``filename`` fits ``model``.

    ``allow_partial=True`` logs the same message as a warning and returns (loading then
    proceeds as mmengine does: matching keys only). Returns the message or None. ``checkpoint``:
    the already loaded dict of ``filename`` (else it is opened with :func:`load_checkpoint_file`).
    """
    if checkpoint is None:
        checkpoint = load_checkpoint_file(filename)
    model = getattr(model, 'module', model)
    missing, unexpected, mismatched = compare_state_dicts(model.state_dict(),
                                                          _state_dict(checkpoint))
    if not (missing or unexpected or mismatched):
        return None
    parts = []
    if mismatched:
        k, a, b = mismatched[0]
        parts.append(f'{len(mismatched)} of another shape (first: {k} {list(a)} in the '
                     f'checkpoint, {list(b)} in the model)')
    if missing:
        parts.append(f'{len(missing)} missing (first: {", ".join(missing[:3])})')
    if unexpected:
        parts.append(f'{len(unexpected)} unexpected (first: {", ".join(unexpected[:3])})')
    msg = f'checkpoint {filename} does not fit the model: ' + '; '.join(parts) + ' weights.'
    if unexpected and all(any(a in k for a in ATTRIBUTE_KEYS) for k in unexpected) \
            and not missing and not mismatched:
        msg = (f'checkpoint {filename} has an attribute head (fc_attr) that this config\'s '
               f'model lacks: its attributes would be dropped. Use an attr-mask-rcnn config.')
    elif missing and all(any(a in k for a in ATTRIBUTE_KEYS) for k in missing) \
            and not unexpected and not mismatched:
        msg = (f'checkpoint {filename} has no attribute head (fc_attr): the attributes of this '
               f'config would come from random weights.')
    name = trained_with(checkpoint)
    if name:
        msg += f' It was trained with the config {name!r}.'
    if not allow_partial:
        raise CheckpointMismatchError(
            msg + (' Use that config, or pass' if name else ' Pass') + ' --allow-partial to load '
            'only the weights that fit (e.g. to fine-tune from them), with a warning.',
            why=msg)
    if logger is not None:
        logger.warning(f'--allow-partial: {msg}')
    return msg
