"""Checkpoints that torch's weights-only unpickler opens as they are (compat.py, workaround 1)."""
import numpy as np
import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

PLAIN_KEY = '__history_buffer__'


def buffer_to_plain(buf):
    """``HistoryBuffer`` -> a dict of tensors (its pickle would reference ``builtins.getattr``
    for its statistics methods, and numpy arrays)."""
    return {
        PLAIN_KEY: True,
        'max_length': int(buf.max_length),
        'log': torch.from_numpy(np.asarray(buf._log_history, dtype=np.float64).copy()),
        'count': torch.from_numpy(np.asarray(buf._count_history, dtype=np.float64).copy()),
    }


def buffer_from_plain(d):
    buf = HistoryBuffer(max_length=d['max_length'])
    buf._log_history = d['log'].numpy().copy()
    buf._count_history = d['count'].numpy().copy()
    return buf


def to_plain(value):
    """numpy scalars/arrays -> python scalars/tensors, recursively (``runtime_info``)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.dtype != object:
        return torch.from_numpy(value.copy())
    if isinstance(value, dict):
        return type(value)((k, to_plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(to_plain(v) for v in value)
    return value


@HOOKS.register_module()
class WeightsOnlyCheckpointHook(Hook):
    """Write ``message_hub`` in plain types, and read it back before mmengine does.

    Why (compat.py, workaround 1): torch >= 2.6 opens checkpoints with ``weights_only=True``.
    mmengine's ``message_hub`` holds ``HistoryBuffer`` objects, whose pickled state carries their
    statistics methods as ``getattr(HistoryBuffer, 'mean')`` (``builtins.getattr``, which no
    safe allowlist can admit) and numpy arrays. Written as tensors and numbers, a checkpoint of
    this project opens weights-only in every loader (``--resume``, ``load_from``, test, the
    inferencer, mmdet's own tools) with no allowlist and no patched ``torch.load``; on load the
    buffers are rebuilt before ``Runner.resume`` hands them to the message hub. The numbers are
    unchanged (float64 histories; counts as float64, as mmengine keeps them).
    """
    priority = 'LOWEST'  # after every hook that adds to the checkpoint

    def before_save_checkpoint(self, runner, checkpoint):
        hub = checkpoint.get('message_hub')
        if not isinstance(hub, dict):
            return
        hub['log_scalars'] = type(hub.get('log_scalars', {}))(
            (k, buffer_to_plain(v) if isinstance(v, HistoryBuffer) else to_plain(v))
            for k, v in hub.get('log_scalars', {}).items())
        if 'runtime_info' in hub:
            hub['runtime_info'] = to_plain(hub['runtime_info'])

    def after_load_checkpoint(self, runner, checkpoint):
        hub = checkpoint.get('message_hub')
        if not isinstance(hub, dict):
            return
        scalars = hub.get('log_scalars', {})
        for k, v in list(scalars.items()):
            if isinstance(v, dict) and v.get(PLAIN_KEY):
                scalars[k] = buffer_from_plain(v)
