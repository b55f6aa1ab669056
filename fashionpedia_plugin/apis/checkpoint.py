"""Does a checkpoint fit the model? Checked before any inference or training step runs.

mmengine loads state dicts with ``strict=False``: a checkpoint of another config (R18 into R50,
46 vs 47 classes, no attribute head) only logs size mismatches and missing keys, then the run
goes on with random weights and reports AP 0 with exit code 0. :func:`check_checkpoint` compares
keys and shapes first and raises :class:`CheckpointMismatchError`, one line: counts, the first
keys, and the config the checkpoint was trained with (mmengine stores it in ``meta``).
"""
# Keys a checkpoint may lack without harm (BN's counter; not used with momentum set).
OPTIONAL_SUFFIXES = ('num_batches_tracked', )
ATTRIBUTE_KEYS = ('fc_attr.', )


class CheckpointMismatchError(ValueError):
    """The checkpoint's weights do not fit the model built from the config."""


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


def check_checkpoint(model, filename, allow_partial=False, logger=None):
    """Raise :class:`CheckpointMismatchError` unless ``filename`` fits ``model``.

    ``allow_partial=True`` logs the same message as a warning and returns (loading then
    proceeds as mmengine does: matching keys only). Returns the message or None.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    from .. import compat  # noqa: F401  (checkpoint loading on torch >= 2.6)
    checkpoint = CheckpointLoader.load_checkpoint(filename, map_location='cpu')
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
        raise CheckpointMismatchError(msg + ' Pass --allow-partial to load it anyway.')
    if logger is not None:
        logger.warning(f'--allow-partial: {msg}')
    return msg
