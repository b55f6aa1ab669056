"""What every tool shares: one-line user errors, config loading, mmdet's common flags.

A tool's ``main(argv)`` raises :class:`CLIError` (or a named data error) for anything the user
can fix; :func:`run_cli` prints it as one ``error:`` line on stderr and returns exit code 2.

Importing this module installs the one warning filter of the tools: mmengine 0.10.7 imports
``pkg_resources``, whose deprecation warning setuptools >= 67 prints several times per run
(the install pins setuptools < 81, where it still exists). Nothing else is hidden.
"""
import os
import os.path as osp
import shutil
import sys
import tempfile
import warnings

warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)
warnings.filterwarnings(
    'ignore', message='Deprecated call to `pkg_resources', category=DeprecationWarning)

from mmengine.config import Config, DictAction  # noqa: E402  (after the filter)


class CLIError(Exception):
    """A user error reported as one line (no traceback) with exit code 2."""


def run_cli(main, argv=None):
    """Call ``main(argv)``; turn expected user errors into one line on stderr + exit code."""
    from ..apis.checkpoint import CheckpointLoadError, CheckpointMismatchError
    from ..datasets.validation import FashionpediaDataError
    from ..engine.hooks import InvalidLossError, ScheduleMismatchError
    try:
        return main(argv)
    except (CLIError, FashionpediaDataError, FileNotFoundError, InvalidLossError,
            CheckpointLoadError, CheckpointMismatchError, ScheduleMismatchError) as e:
        msg = str(e).strip() or e.__class__.__name__
        print(f'error: {msg}', file=sys.stderr)
        return 2


def common_args(parser):
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value (mmengine DictAction)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def trust_checkpoint_arg(parser):
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='unpickle checkpoints fully (can run code stored in the file): only for files you '
        'trust; by default they load weights-only (tensors, containers, numbers)')


def data_root_arg(parser):
    parser.add_argument(
        '--data-root',
        help='dataset root: sets data_root of every dataloader and re-roots the evaluators\' '
        'ann_file (a --cfg-options data_root=... would not reach them)')


def resolve_config(path):
    """``PACKAGE::REL`` -> ``<PACKAGE>/.mim/configs/REL`` of the installed package, as mmengine
    resolves ``_base_ = 'mmdet::...'`` (its ``Config.fromfile`` does not do it for the file it
    is given): ``fashionpedia_plugin::attr-mask-rcnn/attr-mask-rcnn_r50_fpn_lsj-3x_fashionpedia.py``
    works in a non-editable install, away from the repository. Other paths are returned as
    they are."""
    if '::' not in path:
        return path
    import importlib.util
    package, rel = path.split('::', 1)
    spec = importlib.util.find_spec(package) if package.isidentifier() else None
    if spec is None or spec.origin is None:
        raise CLIError(f'{path}: package {package!r} is not installed')
    return osp.join(osp.dirname(spec.origin), '.mim', 'configs', rel)


def load_config(path, cfg_options=None, data_root=None):
    """Load a config, apply ``--cfg-options`` and ``--data-root``, with one-line errors.

    A top-level variable (``data_root``, ``image_size``, ...) given in ``--cfg-options`` is an
    error when its old value was already copied into other keys at load time (mmengine resolves
    variables when it reads the file), naming those keys: the run would silently keep them.
    ``path`` may be ``PACKAGE::CONFIG`` (:func:`resolve_config`).
    """
    path = resolve_config(path)
    if not osp.isfile(path):
        raise CLIError(f'config file not found: {path}')
    if not path.endswith('.py'):
        raise CLIError(f'config must be a Python config file (.py): {path}')
    try:
        cfg = Config.fromfile(path)
    except Exception as e:  # syntax errors, missing _base_ files, ...
        raise CLIError(f'cannot load config {path}: {e.__class__.__name__}: {e}') from None
    if cfg_options:
        check_variable_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    if data_root is not None:
        set_data_root(cfg, data_root)
    return cfg


def _leaves(obj, prefix=''):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, f'{prefix}.{k}' if prefix else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _leaves(v, f'{prefix}.{i}')
    else:
        yield prefix, obj


def check_variable_options(cfg, cfg_options):
    """Raise if a top-level ``--cfg-options`` key's old value was copied into other keys."""
    for key in cfg_options:
        if '.' in key or key not in cfg or isinstance(cfg[key], (dict, list, tuple)) or \
                cfg[key] in (None, True, False, '') or cfg[key] == cfg_options[key]:
            continue
        old = cfg[key]
        copies = [
            k for k, v in _leaves(cfg.to_dict()) if k != key and (
                v == old or isinstance(v, str) and isinstance(old, str) and v.startswith(old))
        ]
        if copies:
            hint = ' Use --data-root DIR.' if key == 'data_root' else ''
            raise CLIError(f'--cfg-options {key}={cfg_options[key]} changes only the variable: '
                           f'its value {old!r} was already copied into {", ".join(copies[:6])}'
                           f'{" ..." if len(copies) > 6 else ""}; set those keys instead.{hint}')


def set_data_root(cfg, data_root):
    """``data_root`` of every dataloader's dataset; evaluator ``ann_file`` s and attribute
    priors under the old root moved to the new one (one elsewhere is an error: which root it
    means is not known)."""
    data_root = data_root.rstrip('/') + '/'
    old_roots = set()
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = (cfg.get(name) or {}).get('dataset')
        while ds is not None and 'dataset' in ds and 'data_root' not in ds:  # wrappers
            ds = ds['dataset']
        if ds is not None:
            if ds.get('data_root'):
                old_roots.add(ds['data_root'])
            ds['data_root'] = data_root

    def reroot(owner, key, where):
        path = owner.get(key)
        if not path:
            return
        root = next((r for r in old_roots if path.startswith(r)), None)
        if root is None:
            raise CLIError(f'--data-root: {where} {path} is not under the config\'s data_root '
                           f'({", ".join(sorted(old_roots)) or "none"}); set it with '
                           f'--cfg-options {where}=...')
        owner[key] = data_root + path[len(root):].lstrip('/')

    for name in ('val_evaluator', 'test_evaluator'):
        ev = cfg.get(name)
        for e in (ev if isinstance(ev, list) else [ev] if ev else []):
            reroot(e, 'ann_file', f'{name}.ann_file')
            if isinstance(e.get('attr_decoder'), dict):  # a prior built from train annotations
                reroot(e['attr_decoder'], 'prior', f'{name}.attr_decoder.prior')
    if isinstance((cfg.get('visualizer') or {}).get('attr_decoder'), dict):
        reroot(cfg.visualizer.attr_decoder, 'prior', 'visualizer.attr_decoder.prior')


def check_work_dir(work_dir):
    """Fail at start, not at the first checkpoint hours later, if work_dir is unwritable."""
    try:
        os.makedirs(work_dir, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=work_dir, prefix='.write-test-'):
            pass
    except OSError as e:
        raise CLIError(f'work_dir {work_dir} is not writable: {e.strerror or e}') from None
    free = shutil.disk_usage(work_dir).free
    if free < 200 * 2**20:
        raise CLIError(f'work_dir {work_dir} has only {free / 2**20:.0f} MiB free; checkpoints '
                       'need several hundred MiB')
