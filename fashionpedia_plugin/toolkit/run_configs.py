"""The resolved config of a finished run, read without running it, and runs grouped by config.

mmengine dumps the resolved config of every run as Python (``<timestamp>/vis_data/config.py``,
and ``<work_dir>/<config name>.py``): plain ``name = value`` assignments whose values are
``dict(...)`` calls, lists, tuples and constants. :func:`read_dumped_config` evaluates exactly
that subset from the syntax tree (``Config.fromfile`` would execute the file: a work dir copied
from elsewhere must not run code when it is only analysed).
"""
import ast
import glob
import json
import os.path as osp

from .config_diff import NOISE, flatten

# what may differ between the seeds of one experiment (the same total batch on another layout is
# the same experiment: its schedule keys are equal)
SEED_KEYS = ('randomness.*', 'env_cfg.*', 'auto_scale_schedule.world_size',
             'auto_scale_schedule.batch_per_process', 'val_evaluator.outfile_prefix',
             'test_evaluator.outfile_prefix')  # (the prefix: a path into each run's work dir)


class DumpedConfigError(ValueError):
    pass


def _value(node, path):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _value(node.operand, path)
        if isinstance(v, (int, float)):
            return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_value(e, path) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict) and all(k is not None for k in node.keys):
        return {_value(k, path): _value(v, path) for k, v in zip(node.keys, node.values)}
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == 'dict'
            and not node.args and all(k.arg for k in node.keywords)):
        return {k.arg: _value(k.value, path) for k in node.keywords}
    if isinstance(node, ast.Name) and node.id in ('True', 'False', 'None'):
        return {'True': True, 'False': False, 'None': None}[node.id]
    raise DumpedConfigError(f'{path}:{getattr(node, "lineno", "?")}: {type(node).__name__} is not '
                            'part of a dumped config (dict(...), lists, tuples and constants '
                            'only); not evaluated')


def read_dumped_config(path):
    """``{name: value}`` of a config dumped by mmengine, evaluated from its syntax tree."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    cfg = {}
    for stmt in tree.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)):
            raise DumpedConfigError(f'{path}:{stmt.lineno}: only "name = value" lines are read')
        cfg[stmt.targets[0].id] = _value(stmt.value, path)
    return cfg


def find_run_config(path):
    """The dumped config of a run: ``path`` itself (a .py), or in a timestamp dir's vis_data,
    or the newest training run's of a work dir (a test run beside it dumps its config too);
    None when there is none."""
    if osp.isfile(path):
        return path if path.endswith('.py') else find_run_config(osp.dirname(osp.dirname(path)))
    direct = osp.join(path, 'vis_data', 'config.py')
    if osp.isfile(direct):
        return direct
    stamps = sorted(glob.glob(osp.join(path, '2*_*', 'vis_data', 'config.py')))
    for cfg in reversed(stamps):
        scalars = osp.join(osp.dirname(cfg), 'scalars.json')
        if osp.isfile(scalars):
            with open(scalars) as f:
                if any('"loss"' in line for line in f):
                    return cfg
    return stamps[-1] if stamps else None


def config_key(cfg, ignore=NOISE + SEED_KEYS):
    """A string equal for configs that differ only in the seed, work dir and other noise."""
    import fnmatch
    flat = flatten(cfg)
    kept = {k: v for k, v in flat.items() if not any(fnmatch.fnmatch(k, p) for p in ignore)}
    return json.dumps(kept, sort_keys=True, default=repr)


def group_by_config(paths):
    """``[[index, ...], ...]`` of the runs sharing a config (seeds of one experiment), in first
    appearance order, and ``{index: why}`` for runs whose config could not be read (alone)."""
    keys, problems = [], {}
    for i, path in enumerate(paths):
        cfg_path = find_run_config(path)
        if cfg_path is None:
            problems[i] = f'{path}: no dumped config (vis_data/config.py)'
            keys.append(f'#{i}')
            continue
        try:
            keys.append(config_key(read_dumped_config(cfg_path)))
        except (DumpedConfigError, SyntaxError) as e:
            problems[i] = str(e)
            keys.append(f'#{i}')
    groups = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    return list(groups.values()), problems
