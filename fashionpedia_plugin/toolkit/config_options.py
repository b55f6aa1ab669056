"""``--cfg-options`` keys checked against the config before anything is built.

mmengine's ``Config.merge_from_dict`` creates every key it is given: a misspelt top-level key
(``train_dataloder.batch_size=2``) becomes a new variable nobody reads and the run silently
trains with the old value; a misspelt key inside a component (``train_cfg.max_iter=4``) is
passed to its class, which fails with a ``TypeError`` traceback only once the model and the
datasets are built (on real data: after reading 45k images). A key without ``=`` is a
``ValueError`` traceback of mmengine's ``DictAction``.

Here a new key (one the config does not have) is accepted when

- at the top level: it is a setting mmengine's ``Runner`` (``Runner.from_cfg``) or these tools
  read (:data:`RUNNER_KEYS`);
- inside a dict with a ``type``: the class that type names in mmdet's registries takes it as a
  parameter (a class with ``**kwargs`` takes anything, then the rule below decides);
- inside a dataloader: ``torch.utils.data.DataLoader`` or mmengine's ``build_dataloader``
  takes it;
- elsewhere: it is not a near-miss of a key beside it (``difflib``, our choice: ``num_clases``
  next to ``num_classes`` is a typo, ``with_cp`` next to ``depth`` a new setting).

Otherwise :class:`~.cli.CLIError` names the key, the config and the closest keys.
"""
import argparse
import difflib
import inspect
import re

from mmengine.config import Config, DictAction

# Read by mmengine's Runner.from_cfg/train (0.10.7) and by this plugin's tools, whether or not
# the config sets them.
RUNNER_KEYS = frozenset({
    'model', 'work_dir', 'train_dataloader', 'val_dataloader', 'test_dataloader', 'train_cfg',
    'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper', 'param_scheduler', 'val_evaluator',
    'test_evaluator', 'default_hooks', 'custom_hooks', 'data_preprocessor', 'load_from', 'resume',
    'launcher', 'env_cfg', 'log_processor', 'log_level', 'visualizer', 'default_scope',
    'randomness', 'experiment_name', 'compile', 'runner_type', 'custom_imports', 'strategy',
    'tta_model', 'tta_pipeline', 'auto_scale_schedule'
})
# Keys mmengine's Runner.build_dataloader pops before calling DataLoader(**rest).
DATALOADER_KEYS = frozenset(
    {'dataset', 'sampler', 'batch_sampler', 'collate_fn', 'worker_init_fn', 'num_batch_per_epoch'})
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
# The keys mmengine 0.10.7 reads in its untyped top-level settings (Runner.set_randomness,
# Runner.setup_env, Runner.scale_lr; auto_scale_schedule: schedule_scaling.py)
SETTING_KEYS = dict(
    randomness=('seed', 'diff_rank_seed', 'deterministic'),
    env_cfg=('cudnn_benchmark', 'mp_cfg', 'dist_cfg'),
    auto_scale_lr=('enable', 'base_batch_size'),
    auto_scale_schedule=('enable', ))
# Keys taken out of a component's dict before its class is called: the registry's type and
# scope, a hook's priority (Runner.register_hook), an optimizer wrapper's constructor and
# paramwise_cfg (mmengine's build_optim_wrapper)
POPPED_KEYS = frozenset({'type', '_scope_', 'priority', 'constructor', 'paramwise_cfg'})
# mmdet's registries a ``type`` may come from (mmdet/registry.py, children of mmengine's)
REGISTRIES = ('MODELS', 'TASK_UTILS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'LOOPS', 'HOOKS',
              'OPTIM_WRAPPERS', 'OPTIMIZERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS',
              'METRICS', 'EVALUATOR', 'VISUALIZERS', 'VISBACKENDS', 'LOG_PROCESSORS',
              'WEIGHT_INITIALIZERS', 'RUNNERS')


class OptionsAction(DictAction):
    """mmengine's ``DictAction`` with a usage error (exit 2) for an item without ``=``."""

    def __call__(self, parser, namespace, values, option_string=None):
        for kv in values or ():
            if '=' not in kv:
                raise argparse.ArgumentError(
                    self, f'{kv!r} has no "=": write KEY=VALUE, e.g. '
                    'train_dataloader.batch_size=4')
        super().__call__(parser, namespace, values, option_string)


def _index(part):
    return int(part) if part.lstrip('-').isdigit() else None


def _registered(type_name, cfg):
    """The class ``type_name`` names in mmdet's registries (plugin components included), or
    None when it is not found or names different classes in different registries."""
    if not isinstance(type_name, str):
        return type_name if inspect.isclass(type_name) else None
    import mmdet.registry as reg
    from mmdet.utils import register_all_modules
    from mmengine.utils import import_modules_from_strings
    register_all_modules(init_default_scope=False)
    imports = cfg.get('custom_imports') or {}
    if imports.get('imports'):
        import_modules_from_strings(**imports)
    found = set()
    for name in REGISTRIES:
        registry = getattr(reg, name)
        cls = registry.get(type_name) if '.' not in type_name else None
        if cls is None:
            cls = registry.module_dict.get(type_name)
        if cls is not None:
            found.add(cls)
    return found.pop() if len(found) == 1 else None


def _signature(fn):
    """(parameter names, takes **kwargs) of one function, or None if it cannot be read."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    kinds = [p.kind for p in sig.parameters.values()]
    return set(sig.parameters) - {'self'}, inspect.Parameter.VAR_KEYWORD in kinds


def _forwards_kwargs(init):
    """Does this ``__init__`` pass its ``**kwargs`` on to ``super().__init__``?"""
    try:
        source = inspect.getsource(init)
    except (OSError, TypeError):
        return False
    return re.search(r'super\([^)]*\)\.__init__\([^)]*\*\*kwargs', source) is not None


def _params(fn):
    """(parameter names, takes any keyword) of a function, or of a class's ``__init__``
    followed up its bases while each passes ``**kwargs`` on to ``super().__init__``
    (``Shared2FCBBoxHead(*args, **kwargs)`` takes what ``ConvFCBBoxHead`` and ``BBoxHead``
    take)."""
    if not inspect.isclass(fn):
        return _signature(fn) or (set(), True)
    names = set()
    for klass in fn.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None or klass is object:
            continue
        got = _signature(init)
        if got is None:
            return names, True
        names |= got[0] - {'args', 'kwargs'}
        if not got[1]:
            return names, False
        if not _forwards_kwargs(init):
            return names, True
    return names, False


def _accepted(owner, path, key, cfg, options):
    """None if ``key`` may be added to the dict ``owner`` (at ``path``), else why not."""
    siblings = [str(k) for k in owner]
    close = difflib.get_close_matches(key, siblings, n=3, cutoff=0.8)
    if key in POPPED_KEYS:
        return None
    if path in SETTING_KEYS:
        known = set(SETTING_KEYS[path]) | set(siblings)
        return None if key in known else (f'not a {path} setting mmengine reads',
                                          difflib.get_close_matches(
                                              key, sorted(known), n=3, cutoff=0.6))
    if path in LOADERS:
        from torch.utils.data import DataLoader
        names, _ = _params(DataLoader)
        if key in names | DATALOADER_KEYS:
            return None
        return 'not a DataLoader argument', close or difflib.get_close_matches(
            key, sorted(names | DATALOADER_KEYS), n=3, cutoff=0.6)
    type_name = options.get(f'{path}.type', owner.get('type'))  # as the options change it
    if type_name is not None:
        cls = _registered(type_name, cfg)
        if cls is not None:
            names, var_kw = _params(cls)
            if key in names:
                return None
            if not var_kw:
                return (f'not a parameter of {getattr(cls, "__name__", type_name)}', close
                        or difflib.get_close_matches(key, sorted(names), n=3, cutoff=0.6))
    return ('a near-miss of a key beside it', close) if close else None


def check_option_keys(cfg, options, config_path):
    """Raise :class:`~.cli.CLIError` for a ``--cfg-options`` key that names nothing the run
    reads (rules in the module docstring); run before ``merge_from_dict``."""
    from .cli import CLIError
    for full in options:
        parts = full.split('.')
        node, path = cfg, ''
        for depth, part in enumerate(parts):
            if isinstance(node, (list, tuple)):
                i = _index(part)
                if i is None or not -len(node) <= i < len(node):
                    raise CLIError(f'--cfg-options {full}: {path} is a list of {len(node)}; '
                                   f'{part!r} is not an index of it ({config_path})')
                node, path = node[i], f'{path}.{part}'
                continue
            if not isinstance(node, (dict, Config)):
                break  # mmengine reports a key below a value itself
            if part in node:
                node, path = node[part], f'{path}.{part}' if path else part
                continue
            if depth == 0:
                if part in RUNNER_KEYS:
                    if part in SETTING_KEYS and depth + 1 < len(parts):
                        node, path = {}, part  # checked against what mmengine reads
                        continue
                    break
                why = 'not a key of the config nor a setting mmengine\'s Runner reads'
                close = difflib.get_close_matches(
                    part, sorted(set(node) | RUNNER_KEYS), n=3, cutoff=0.6)
            else:
                verdict = _accepted(node, path, part, cfg, options)
                if verdict is None:
                    break
                why, close = verdict
            hint = f'; did you mean {" or ".join(close)}?' if close else ''
            where = f'{path}.{part}' if path else part
            raise CLIError(f'--cfg-options {full}: {where} is {why} ({config_path}){hint}')
