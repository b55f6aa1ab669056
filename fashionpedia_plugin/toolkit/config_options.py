"""``--cfg-options`` keys checked against the config before anything is built.

mmengine's ``Config.merge_from_dict`` creates every key it is given: a misspelt top-level key
(``train_dataloder.batch_size=2``) becomes a new variable nobody reads and the run silently
trains with the old value; a misspelt key inside a component (``train_cfg.max_iter=4``) is
passed to its class, which fails with a ``TypeError`` traceback only once the model and the
datasets are built (on real data: after reading 45k images). A key without ``=`` is a
``ValueError`` traceback of mmengine's ``DictAction``.

Here a new key (one the config does not have) is accepted when

- at the top level: it is a setting mmengine's ``Runner`` or these tools read
  (:data:`RUNNER_KEYS`);
- in ``randomness``, ``env_cfg``, ``auto_scale_lr``, ``optim_wrapper.paramwise_cfg``: mmengine
  reads it (:data:`SETTING_KEYS`);
- anywhere: a builder takes it out before the class is called (:data:`POPPED_KEYS`: ``type``,
  ``_delete_``, a hook's ``priority``, ...);
- inside a dict with a ``type``: the class that type names in mmdet's registries takes it as a
  parameter, followed up the bases its ``**kwargs`` go to; a class that takes any keyword takes
  it unless it is a near-miss of one of its parameters;
- inside a dataloader: ``torch.utils.data.DataLoader`` or mmengine's ``build_dataloader``
  takes it;
- elsewhere: it is not a near-miss of a key beside it (``difflib``, our choice: ``num_clases``
  next to ``num_classes`` is a typo, ``with_cp`` next to ``depth`` a new setting).

``P._delete_=True`` (mmengine's) replaces the dict at ``P``: the keys given beside it are
checked against the type given with them. A new ``type`` for a registered component must be
one a registry has (``Adamw`` is an error naming ``Adam``, ``AdamW``); a key below a number or
None, and a list index past the end, are errors too (mmengine's are tracebacks).

Otherwise :class:`~.cli.CLIError` names the key, the config and the closest keys.
``FP_CFG_OPTIONS_UNCHECKED=1`` skips the check (for a right key it refuses: a child config
is never checked either).
"""
import argparse
import difflib
import functools
import inspect
import os
import re

from mmengine.config import Config, DictAction

# Read by mmengine 0.10.7's Runner (from_cfg, __init__, wrap_model, train: ``cfg.get``) and by
# this plugin's tools (auto_scale_schedule), whether or not the config sets them.
RUNNER_KEYS = frozenset({
    'model', 'work_dir', 'train_dataloader', 'val_dataloader', 'test_dataloader', 'train_cfg',
    'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper', 'param_scheduler', 'val_evaluator',
    'test_evaluator', 'default_hooks', 'custom_hooks', 'data_preprocessor', 'load_from', 'resume',
    'launcher', 'env_cfg', 'log_processor', 'log_level', 'visualizer', 'default_scope',
    'randomness', 'experiment_name', 'compile', 'runner_type', 'custom_imports', 'strategy',
    'find_unused_parameters', 'model_wrapper_cfg', 'sync_bn', 'activation_checkpointing',
    'efficient_conv_bn_eval', 'auto_scale_schedule'
})
# Keys mmengine's Runner.build_dataloader pops before calling DataLoader(**rest).
DATALOADER_KEYS = frozenset({
    'dataset', 'sampler', 'batch_sampler', 'collate_fn', 'worker_init_fn', 'num_batch_per_epoch',
    'disable_subprocess_warning'
})
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
# The keys mmengine 0.10.7 reads in its untyped settings (Runner.set_randomness, setup_env,
# scale_lr; DefaultOptimWrapperConstructor.add_params; auto_scale_schedule: schedule_scaling.py)
SETTING_KEYS = {
    'randomness': ('seed', 'diff_rank_seed', 'deterministic'),
    'env_cfg': ('cudnn_benchmark', 'mp_cfg', 'dist_cfg', 'resource_limit'),
    'auto_scale_lr': ('enable', 'base_batch_size'),
    'auto_scale_schedule': ('enable', ),
    'optim_wrapper.paramwise_cfg':
    ('custom_keys', 'bias_lr_mult', 'bias_decay_mult', 'norm_decay_mult', 'dwconv_decay_mult',
     'flat_decay_mult', 'bypass_duplicate', 'dcn_offset_lr_mult'),
}
# Keys taken out of a component's dict before its class is called: the registry's type and
# scope, mmengine's _delete_ (Config._merge_a_into_b), a hook's priority (Runner.register_hook),
# an optimizer wrapper's constructor and paramwise_cfg (build_optim_wrapper), a scheduler's
# convert_to_iter_based and epoch_length (build_scheduler_from_cfg), a loop's by_epoch
# (Runner.build_train_loop), a norm layer's requires_grad (mmcv build_norm_layer), an
# initialiser's override (mmengine weight_init), an upsample layer's scale_factor (FCNMaskHead)
POPPED_KEYS = frozenset({
    'type', '_scope_', '_delete_', 'priority', 'constructor', 'paramwise_cfg',
    'convert_to_iter_based', 'epoch_length', 'by_epoch', 'requires_grad', 'override', 'scale_factor'
})
# mmdet's registries a ``type`` may come from (mmdet/registry.py, children of mmengine's)
REGISTRIES = ('MODELS', 'TASK_UTILS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'LOOPS', 'HOOKS',
              'OPTIM_WRAPPERS', 'OPTIMIZERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS',
              'METRICS', 'EVALUATOR', 'VISUALIZERS', 'VISBACKENDS', 'LOG_PROCESSORS',
              'WEIGHT_INITIALIZERS', 'RUNNERS')
# The one switch that skips the check (a key it refuses that is right: please report it)
UNCHECKED_ENV = 'FP_CFG_OPTIONS_UNCHECKED'


class OptionsAction(DictAction):
    """mmengine's ``DictAction`` with a usage error (exit 2) for an item without ``=``."""

    def __call__(self, parser, namespace, values, option_string=None):
        for kv in values or ():
            if '=' not in kv:
                split = any(c in kv for c in ']),') or kv[:1].isdigit()
                raise argparse.ArgumentError(
                    self, f'{kv!r} has no "=": write KEY=VALUE, e.g. '
                    'train_dataloader.batch_size=4' +
                    ('; quote a value with spaces: "KEY=[60000, 80000]"' if split else ''))
            if kv.split('=', 1)[1].lstrip().startswith('dict('):
                # mmengine 0.10.7's DictAction recurses without end on dict(a=1,b=2) and keeps
                # dict(a=1) as a string
                key = kv.split('=', 1)[0]
                raise argparse.ArgumentError(
                    self, f'{kv!r}: mmengine\'s DictAction cannot read dict(...) values; give '
                    f'the keys one by one ({key}.KEY=VALUE ...; {key}._delete_=True first to '
                    'replace the whole dict)')
        super().__call__(parser, namespace, values, option_string)


def _index(part):
    return int(part) if part.isdigit() else None  # mmengine merges non-negative indices only


@functools.lru_cache(maxsize=None)
def _register(imports, allow_failed):
    """mmdet's modules and the config's ``custom_imports`` in the registries, once per set."""
    from mmdet.utils import register_all_modules
    from mmengine.utils import import_modules_from_strings
    register_all_modules(init_default_scope=False)
    if imports:
        import_modules_from_strings(list(imports), allow_failed_imports=allow_failed)


def _lookup(type_name, cfg):
    """The classes ``type_name`` names in mmdet's registries (plugin components included)."""
    if not isinstance(type_name, str):
        return {type_name} if inspect.isclass(type_name) else set()
    import mmdet.registry as reg
    imports = cfg.get('custom_imports') or {}
    _register(tuple(imports.get('imports') or ()), bool(imports.get('allow_failed_imports')))
    found = set()
    for name in REGISTRIES:
        registry = getattr(reg, name)
        try:
            cls = registry.get(type_name)  # 'mmdet.ResNet': the scope's registry
        except Exception:  # noqa: BLE001  (a scope that is not installed: not ours to judge)
            return {None}
        cls = cls or registry.module_dict.get(type_name)
        if cls is not None:
            found.add(cls)
    return found


def _value_at(cfg, full):
    """The config's value at the dotted key ``full``, or None."""
    node = cfg
    for part in full.split('.'):
        if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, (dict, Config)) and part in node:
            node = node[part]
        else:
            return None
    return node


def _registered(type_name, cfg):
    """The class ``type_name`` names, or None when it is not found or names different classes
    in different registries."""
    found = _lookup(type_name, cfg)
    return found.pop() if len(found) == 1 else None


def _all_type_names():
    import mmdet.registry as reg
    names = set()
    for name in REGISTRIES:
        registry = getattr(reg, name)
        while registry is not None:
            names |= set(registry.module_dict)
            registry = registry.parent
    return sorted(names)


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
        article = 'an' if path[0] in 'aeiou' else 'a'
        return None if key in known else (f'not {article} {path} setting mmengine reads',
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
            # takes any keyword: a near-miss of one of its own parameters is a typo too
            close = close or difflib.get_close_matches(key, sorted(names), n=3, cutoff=0.8)
    # a sibling that starts the key, or the key that starts a sibling (score_threshold next
    # to score_thr), is a misspelling too
    close = close or [
        k for k in siblings
        if len(k) >= 3 and k != key and (key.startswith(k) or k.startswith(key)) and '_' in key + k
    ][:3]
    return ('not a key there and looks like a misspelling', close) if close else None


def _fail(full, where, why, config_path, close=()):
    from .cli import CLIError
    head = f'--cfg-options {full}' + ('' if where == full else f': {where}')
    hint = f'; did you mean {" or ".join(close)}?' if close else ''
    raise CLIError(f'{head} is {why} ({config_path}){hint} (if the key is right, '
                   f'{UNCHECKED_ENV}=1 skips this check)')


def check_option_keys(cfg, options, config_path):
    """Raise :class:`~.cli.CLIError` for a ``--cfg-options`` key that names nothing the run
    reads, or a ``type`` no registry has (rules in the module docstring); run before
    ``merge_from_dict``. ``$FP_CFG_OPTIONS_UNCHECKED=1`` skips it."""
    if os.environ.get(UNCHECKED_ENV, '') not in ('', '0'):
        return
    for full, value in options.items():
        if full.split('.')[-1] == 'type' and isinstance(value, str) and \
                _lookup(_value_at(cfg, full), cfg) and not _lookup(value, cfg):
            # a registered component given another type (an `nms` type is mmcv's op name)
            _fail(full, full, f'{value!r}, a type no registry of mmdet or this plugin has',
                  config_path, difflib.get_close_matches(value, _all_type_names(), n=3, cutoff=0.6))
        if full.split('.')[-1] == 'type' and isinstance(value, str):
            _check_kept_keys(cfg, full[:-len('.type')], value, options, config_path)
        parts = full.split('.')
        node, path = cfg, ''
        for depth, part in enumerate(parts):
            if path and options.get(f'{path}._delete_'):
                node = {}  # replaced: only the keys given beside _delete_ remain
            if isinstance(node, (list, tuple)):
                i = _index(part)
                if i is None or i >= len(node):
                    _fail(
                        full, path, f'a list of {len(node)} and {part!r} not an index of it '
                        '(0 to its length - 1; or give the whole list)', config_path)
                node, path = node[i], f'{path}.{part}'
                continue
            if not isinstance(node, (dict, Config)):  # mmengine: "'int' object has no ..."
                _fail(
                    full, path, f'None in the config, not a dict: add {path}._delete_=True '
                    f'to give it keys ({path}.type=... and the others)' if node is None else
                    f'{node!r} in the config, not a dict: no key goes below it', config_path)
            if part in node:
                node, path = node[part], f'{path}.{part}' if path else part
                continue
            if depth == 0:
                if part in RUNNER_KEYS:
                    if part in SETTING_KEYS and depth + 1 < len(parts):
                        node, path = {}, part  # checked against what mmengine reads
                        continue
                    break
                _fail(
                    full, part, 'not a key of the config nor a setting mmengine\'s Runner '
                    'reads', config_path,
                    difflib.get_close_matches(
                        part, sorted(set(node) | RUNNER_KEYS), n=3, cutoff=0.6))
            verdict = _accepted(node, path, part, cfg, options)
            if verdict is None:
                break
            _fail(full, f'{path}.{part}', verdict[0], config_path, verdict[1])


def _check_kept_keys(cfg, path, type_name, options, config_path):
    """A component given another ``type`` keeps the config's other keys (without
    ``_delete_``): each must be a parameter of the new class (``train_cfg.type=
    EpochBasedTrainLoop`` keeps ``max_iters``)."""
    owner = _value_at(cfg, path) if path else None
    if not isinstance(owner, (dict, Config)) or options.get(f'{path}._delete_'):
        return
    cls = _registered(type_name, cfg)
    if cls is None:
        return
    names, var_kw = _params(cls)
    if var_kw:
        return
    kept = [k for k in owner if k not in POPPED_KEYS and k not in names]
    if kept:
        _fail(
            f'{path}.type', f'{path}.type',
            f'{type_name!r}, which does not take {", ".join(kept)} of the config\'s {path}: '
            f'add {path}._delete_=True and give its keys', config_path)


def merge_options(cfg, options, config_path):
    """:func:`check_option_keys`, then mmengine's ``merge_from_dict``, whose refusals (a dict
    merged onto None, a key below a number) become one :class:`~.cli.CLIError` line."""
    from .cli import CLIError
    check_option_keys(cfg, options, config_path)
    try:
        cfg.merge_from_dict(options)
    except (TypeError, KeyError, ValueError, AttributeError) as e:
        msg = e.args[0] if e.args else e
        raise CLIError(f'--cfg-options cannot be merged into {config_path}: {msg}') from None
