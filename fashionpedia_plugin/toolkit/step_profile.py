"""Profile of training steps: the torch ops, the Python functions of this plugin and the
host-device synchronisations, each with where it comes from (``tools/analysis_tools/
profile_train_step.py``)."""
import cProfile
import os.path as osp
import pstats
import time
import traceback

import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils._python_dispatch import TorchDispatchMode

from .benchmark import build_step

PLUGIN_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
# ops that make the host wait for the device on CUDA: .item()/float()/bool() of a tensor
# (_local_scalar_dense) and nonzero (torch.where with one argument: the output size is needed on
# the host); boolean-mask indexing and masked_select too (counted in SyncRecorder)
SYNC_OPS = ('aten::_local_scalar_dense', 'aten::nonzero')
ROOTS = ('fashionpedia_plugin', 'mmdet', 'mmengine', 'mmcv')


def _caller(stack):
    """The innermost frame of ``stack`` (``traceback.extract_stack()``) in one of ``ROOTS``."""
    for frame in reversed(stack):
        if frame.filename == __file__:
            continue
        for root in ROOTS:
            if f'/{root}/' in frame.filename:
                path = frame.filename[frame.filename.rindex(f'/{root}/') + 1:]
                return f'{path}:{frame.lineno} ({frame.name})'
    return '?'


def profile_steps(cfg, device='cpu', iters=2, warmup=1, precision='fp32', memory_format='default'):
    """Run ``warmup`` then ``iters`` profiled ``train_step`` calls of ``cfg``.

    Returns ``dict(step_s, ops, plugin, syncs)``: ``ops`` [(name, self ms per step, calls per
    step)] by self time (CPU, + CUDA on a GPU); ``plugin`` [(function, cumulative ms per step,
    own ms per step, calls per step)] of functions defined in this package; ``syncs``
    [(op, caller, calls per step)].
    """
    model, optim_wrapper, batches = build_step(cfg, device, precision, memory_format)
    cuda = device.startswith('cuda')
    for _ in range(warmup):
        model.train_step(next(batches), optim_wrapper)
    data = [next(batches) for _ in range(iters)]
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    prof_py = cProfile.Profile()
    with profile(activities=activities, with_stack=True) as prof:
        if cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        prof_py.enable()
        for batch in data:
            model.train_step(batch, optim_wrapper)
        prof_py.disable()
        if cuda:
            torch.cuda.synchronize()
        step_s = (time.perf_counter() - t) / iters
    ops = []
    for e in prof.key_averages():  # times in microseconds over all profiled steps
        if e.key.startswith('<'):  # Python calls recorded around the profiled region
            continue
        own = e.self_cpu_time_total + (getattr(e, 'self_device_time_total', 0) if cuda else 0)
        ops.append((e.key, own / 1e3 / iters, e.count / iters))
    ops.sort(key=lambda r: -r[1])
    with SyncRecorder() as syncs:  # one more step, not timed: the recorder sees every op
        model.train_step(next(batches), optim_wrapper)
    stats = pstats.Stats(prof_py)
    plugin = []
    for (path, line, func), (cc, nc, tt, ct, _) in stats.stats.items():
        if path.startswith(PLUGIN_DIR):
            name = f'{osp.relpath(path, osp.dirname(PLUGIN_DIR))}:{line}({func})'
            plugin.append((name, ct * 1e3 / iters, tt * 1e3 / iters, nc / iters))
    plugin.sort(key=lambda r: -r[1])
    return dict(
        step_s=step_s,
        ops=ops,
        plugin=plugin,
        syncs=sorted(((op, where, n) for (op, where), n in syncs.counts.items()),
                     key=lambda r: -r[2]))


class SyncRecorder(TorchDispatchMode):
    """Counts the ops that make the host wait for a CUDA device (``SYNC_OPS``) by the innermost
    caller in this plugin, mmdet, mmengine or mmcv; ``counts[(op, 'file:line (function)')]``."""

    def __init__(self):
        super().__init__()
        self.counts = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = f'aten::{func.__name__.split(".")[0]}'
        if name in ('aten::index', 'aten::index_put_', 'aten::index_put') and any(
                isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in args[1] or ()):
            name = f'{name} (boolean mask)'  # computes nonzero inside the op
        if name in SYNC_OPS or name.endswith('(boolean mask)') or name == 'aten::masked_select':
            key = (name, _caller(traceback.extract_stack()))
            self.counts[key] = self.counts.get(key, 0) + 1
        return func(*args, **(kwargs or {}))


def format_profile(result, top=15):
    """The three tables as Markdown."""
    step_ms = result['step_s'] * 1e3
    lines = [
        f'step: {step_ms:.1f} ms (profiled)', '', '| op | self ms/step | % of step | calls |',
        '|---|---:|---:|---:|'
    ]
    for name, ms, calls in result['ops'][:top]:
        lines.append(f'| `{name}` | {ms:.1f} | {100 * ms / step_ms:.1f} | {calls:g} |')
    lines += [
        '', '| plugin function | cumulative ms/step | own ms/step | calls |', '|---|---:|---:|---:|'
    ]
    for name, ct, tt, calls in result['plugin'][:top]:
        lines.append(f'| `{name}` | {ct:.2f} | {tt:.2f} | {calls:g} |')
    if not result['plugin']:
        lines.append('| (none) | | | |')
    own = sum(r[2] for r in result['plugin'])
    lines += [
        '', f'own time of all plugin functions: {own:.2f} ms/step '
        f'({100 * own / step_ms:.2f}% of the step)'
    ]
    total = sum(n for _, _, n in result['syncs'])
    ours = sum(n for _, where, n in result['syncs'] if where.startswith('fashionpedia_plugin/'))
    lines += ['', f'host-device syncs in one step: {total:g}, {ours:g} of them in this plugin']
    lines += ['', '| host-device sync op | caller | calls in one step |', '|---|---|---:|']
    for op, where, n in result['syncs'][:top]:
        lines.append(f'| `{op}` | `{where}` | {n:g} |')
    if not result['syncs']:
        lines.append('| (none) | | |')
    return '\n'.join(lines)
