"""What every tool shares: one-line user errors, config loading, mmdet's common flags.

A tool's ``main(argv)`` raises :class:`CLIError` (or a named data error) for anything the user
can fix; :func:`run_cli` prints it as one ``error:`` line on stderr and returns exit code 2
(under ``tools/dist_*.sh`` the launcher prints it, once for all ranks: :mod:`.dist_run`).

Importing this module installs the one warning filter of the tools: mmengine 0.10.7 imports
``pkg_resources``, whose deprecation warning setuptools >= 67 prints several times per run
(the install pins setuptools < 81, where it still exists). Nothing else is hidden.
"""
import argparse
import os
import os.path as osp
import shutil
import sys
import tempfile
import time
import warnings

warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)
warnings.filterwarnings(
    'ignore', message='Deprecated call to `pkg_resources', category=DeprecationWarning)

from mmengine.config import Config  # noqa: E402  (after the filter)

from .config_options import OptionsAction  # noqa: E402,F401  (for the tools' parsers)
from .config_options import merge_options  # noqa: E402


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
        report_error(f'error: {msg}')
        return 2


SRUN_QUIET_WAIT_S = 60  # how long a task other than 0 waits before its silent usage exit


class ToolParser(argparse.ArgumentParser):
    """argparse's parser, whose usage error under ``tools/dist_*.sh`` is the launcher's last
    line like any other error (:func:`report_error`: once for all ranks, after the usage that
    rank 0 prints) instead of every rank's usage above torchrun's "failed on rank 0". Under
    ``srun`` (``tools/slurm_*.sh``: ``SLURM_PROCID``, no launcher folder) task 0 alone prints
    the usage and the error: the arguments are the same on every task, so the other tasks'
    copies would say nothing new (our choice; other errors are still each task's own)."""

    def error(self, message):
        from .dist_run import error_file
        rank = os.environ.get('RANK', '0')
        if error_file(rank) is None:
            if _slurm_task() not in (None, 0):
                # srun --kill-on-bad-exit ends the step at the first task that exits: wait, so
                # that task 0's usage and error are printed before this task's exit ends it
                time.sleep(SRUN_QUIET_WAIT_S)
                sys.exit(2)
            super().error(message)
        if rank == '0':
            self.print_usage(sys.stderr)
        report_error(f'{self.prog}: error: {message}')
        sys.exit(2)


def _slurm_task():
    """This process's task number inside a multi-task ``srun`` step, else None."""
    try:
        if int(os.environ.get('SLURM_NTASKS', '1')) > 1:
            return int(os.environ['SLURM_PROCID'])
    except (KeyError, ValueError):
        pass
    return None


def output_file(path, endings=None):
    """``path`` (None passes) after creating its folder, as every tool does for what it writes;
    ``endings``: the file endings it may have (a wrong one is a :class:`CLIError`)."""
    if path is None:
        return None
    if endings and not path.lower().endswith(tuple(endings)):
        raise CLIError(f'{path}: must end with {" or ".join(endings)}')
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    return path


def report_error(line):
    """One error line on stderr; a rank under ``tools/dist_*.sh`` (:mod:`.dist_run`) writes it
    to the launcher's folder instead, which prints each distinct line once, last."""
    from .dist_run import error_file
    path = error_file(os.environ.get('RANK', '0'))
    if path is not None:
        try:
            with open(path, 'w') as f:
                f.write(line + '\n')
            return
        except OSError:
            pass
    print(line, file=sys.stderr)


def common_args(parser):
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=OptionsAction,
        help='override config settings, key=value (mmengine DictAction); a key the config '
        'does not have must be one the run reads (a misspelt key is an error, not ignored)')
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
    parser.add_argument(
        '--train-ann',
        help='train annotation file, relative to the data root (--data-root, else the config\'s) '
        'or absolute: train_dataloader.dataset.ann_file, and an attribute prior the config builds '
        'from the train annotations')
    parser.add_argument(
        '--val-ann',
        help='validation/test annotation file, relative to the data root or absolute: the '
        'val_dataloader and test_dataloader datasets\' ann_file and val_evaluator/test_evaluator '
        'ann_file (the configs evaluate one split)')
    parser.add_argument(
        '--train-img',
        help='train image folder, relative to the data root or absolute '
        '(train_dataloader.dataset.data_prefix.img; default: the config\'s)')
    parser.add_argument(
        '--val-img',
        help='validation/test image folder, relative to the data root or absolute (the '
        'val_dataloader and test_dataloader data_prefix.img; default: the config\'s)')


DATA_ARGS = ('data_root', 'train_ann', 'val_ann', 'train_img', 'val_img')


def data_args(args):
    """The :func:`load_config` keywords of the flags of :func:`data_root_arg`."""
    return {k: getattr(args, k, None) for k in DATA_ARGS}


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


def load_config(path,
                cfg_options=None,
                data_root=None,
                train_ann=None,
                val_ann=None,
                train_img=None,
                val_img=None):
    """Load a config, apply ``--cfg-options`` and the data flags, with one-line errors.

    A top-level variable (``data_root``, ``image_size``, ...) given in ``--cfg-options`` is an
    error when its old value was already copied into other keys at load time (mmengine resolves
    variables when it reads the file), naming those keys: the run would silently keep them.
    ``data_root``, ``train_ann``, ``val_ann``, ``train_img``, ``val_img``: the flags of
    :func:`data_root_arg`, applied by :func:`set_data_layout` after ``--cfg-options``; a key that
    ``--cfg-options`` sets explicitly is kept as given. ``path`` may be ``PACKAGE::CONFIG``
    (:func:`resolve_config`).
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
        merge_options(cfg, cfg_options, path)
    if any(v is not None for v in (data_root, train_ann, val_ann, train_img, val_img)):
        set_data_layout(
            cfg,
            data_root,
            ann=dict(train=train_ann, val=val_ann),
            img=dict(train=train_img, val=val_img),
            explicit=cfg_options or ())
    return cfg


def _nodes(obj, prefix=''):
    """Every ``(dotted key, value)`` below ``obj``, dicts and lists included."""
    if prefix:
        yield prefix, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _nodes(v, f'{prefix}.{k}' if prefix else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _nodes(v, f'{prefix}.{i}')


def _leaves(obj):
    """Every ``(dotted key, value)`` below ``obj`` that is not a dict or list."""
    return ((k, v) for k, v in _nodes(obj) if not isinstance(v, (dict, list, tuple)))


def _plain(v):
    """``v`` with tuples as lists and config dicts as dicts, for comparison."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def check_variable_options(cfg, cfg_options):
    """Raise if a ``--cfg-options`` key sets a top-level variable (or a key inside one:
    ``attr_decoder.score_thr``, ``norm_cfg.type``) whose value was copied into other keys when
    mmengine read the file: the run would keep the copies. The Runner's own settings
    (``model``, ``val_dataloader``, ...) are components, not variables, even where one equals
    another (``test_dataloader = val_dataloader``)."""
    from .config_options import RUNNER_KEYS
    plain = cfg.to_dict()
    for key in cfg_options:
        top = key.split('.')[0]
        if top in RUNNER_KEYS or top not in plain:
            continue
        old = plain[top]
        container = isinstance(old, (dict, list, tuple))
        if container and not old or not container and ('.' in key or old in (None, True, False, '')
                                                       or old == cfg_options[key]):
            continue
        if container:
            target = _plain(old)
            copies = [
                k for k, v in _nodes(plain)
                if k.split('.')[0] != top and isinstance(v, (dict, list,
                                                             tuple)) and _plain(v) == target
            ]
        else:
            copies = [
                k for k, v in _leaves(plain) if k != key and (
                    v == old or isinstance(v, str) and isinstance(old, str) and v.startswith(old))
            ]
        copies.sort(key=lambda k: k.split('.')[0] not in RUNNER_KEYS)  # the run's keys first
        if copies:
            hint = ' Use --data-root DIR.' if key == 'data_root' else ''
            shown = repr(old) if len(repr(old)) <= 60 else repr(old)[:57] + '...'
            what = 'the variable' if key == top else f'the variable {top}'
            raise CLIError(f'--cfg-options {key}={cfg_options[key]} changes only {what}: '
                           f'its value {shown} was already copied into {", ".join(copies[:6])}'
                           f'{" ..." if len(copies) > 6 else ""}; set those keys instead.{hint}')


# the dataloaders of each split of the data flags (the configs test on the validation split)
SPLIT_LOADERS = dict(train=('train_dataloader', ), val=('val_dataloader', 'test_dataloader'))
# the evaluator of each dataloader (its ann_file is the annotation file of that dataset)
LOADER_EVALUATOR = dict(val_dataloader='val_evaluator', test_dataloader='test_evaluator')


def _dataset(cfg, loader):
    """The dataset config of ``loader`` inside dataset wrappers (RepeatDataset, ...), or None."""
    ds = (cfg.get(loader) or {}).get('dataset')
    while ds is not None and 'dataset' in ds and 'data_root' not in ds:  # wrappers
        ds = ds['dataset']
    return ds


def _full(root, path):
    """``path`` as the dataset and the metric read it: joined to ``root`` unless absolute."""
    return osp.join(root, path) if root else path


def _relative_to(root, path):
    """The hint of an error about a relative flag path: what it is relative to."""
    return '' if osp.isabs(path) else \
        f' (relative to the data root {root or "(none)"}; or give an absolute path)'


def _same(a, b):
    return a is not None and b is not None and osp.normpath(a) == osp.normpath(b)


def set_data_layout(cfg, data_root=None, ann=None, img=None, explicit=()):
    """Point a config at a dataset folder: ``data_root`` of every dataloader's dataset, and per
    split (``ann``/``img``: ``{'train': path, 'val': path}``, None = as the config has it) the
    annotation file and the image folder, relative to the data root or absolute. The evaluators'
    ``ann_file`` follow their dataset (``val_evaluator`` the val dataloader's, ``test_evaluator``
    the test dataloader's); an attribute prior that is the train annotation file follows it.
    Without a new annotation file, an evaluator ``ann_file`` or prior under the old root moves to
    the new root (one elsewhere is an error: which root it means is not known). Keys set by
    ``--cfg-options`` (``explicit``: its keys) are kept as given."""
    ann, img = ann or {}, img or {}
    if data_root is not None:
        data_root = data_root.rstrip('/') + '/'

    def given(key):
        return any(key == k or key.startswith(f'{k}.') for k in explicit)

    old_roots, old_ann, new_ann = set(), {}, {}
    for split, loaders in SPLIT_LOADERS.items():
        for name in loaders:
            ds = _dataset(cfg, name)
            if ds is None:
                continue
            if isinstance(ds.get('datasets'), (list, tuple)) and 'data_root' not in ds:
                # ConcatDataset takes no data_root (set on it, its build is a TypeError)
                raise CLIError(f'--data-root and the data flags point one dataset at a folder, but '
                               f'{name}.dataset is a {ds.get("type", "ConcatDataset")} of '
                               f'{len(ds["datasets"])}: set each one with --cfg-options '
                               f'{name}.dataset.datasets.0.data_root=DIR ... (or .ann_file=FILE)')
            if ds.get('data_root'):
                old_roots.add(ds['data_root'])
            if ds.get('ann_file'):
                old_ann[name] = _full(ds.get('data_root'), ds['ann_file'])
            if data_root is not None:
                ds['data_root'] = data_root
            root = ds.get('data_root') or ''
            if ann.get(split) is not None:
                path = _full(root, ann[split])
                if not osp.isfile(path):
                    raise CLIError(f'--{split}-ann {ann[split]}: {path} not found' +
                                   _relative_to(root, ann[split]))
                ds['ann_file'] = ann[split]
                new_ann[name] = path
            if img.get(split) is not None:
                folder = _full(root, img[split])
                if not osp.isdir(folder):
                    raise CLIError(f'--{split}-img {img[split]}: {folder} is not a folder' +
                                   _relative_to(root, img[split]))
                prefix = dict(ds.get('data_prefix') or {})
                prefix['img'] = img[split].rstrip('/') + '/'
                ds['data_prefix'] = prefix

    def move(owner, key, where, new=None, old=None):
        """``owner[key]``: to ``new`` if it is ``old`` (or ``old`` is None), else re-rooted."""
        path = owner.get(key)
        if not path or given(where):
            return
        if new is not None and (old is None or _same(path, old)):
            owner[key] = new
            return
        if data_root is None:
            return
        root = next((r for r in old_roots if path.startswith(r)), None)
        if root is None:
            raise CLIError(f'--data-root: {where} {path} is not under the config\'s data_root '
                           f'({", ".join(sorted(old_roots)) or "none"}); set it with '
                           f'--cfg-options {where}=...')
        owner[key] = data_root + path[len(root):].lstrip('/')

    # no train annotation file: a prior is only re-rooted
    train_old, train_new = old_ann.get('train_dataloader', ''), new_ann.get('train_dataloader')

    def evaluators(name):
        ev = cfg.get(name)
        return ev if isinstance(ev, list) else [ev] if ev else []

    for loader, name in LOADER_EVALUATOR.items():
        for e in evaluators(name):
            move(e, 'ann_file', f'{name}.ann_file', new_ann.get(loader))
            if isinstance(e.get('attr_decoder'), dict):  # a prior built from train annotations
                move(e['attr_decoder'], 'prior', f'{name}.attr_decoder.prior', train_new, train_old)
    if isinstance((cfg.get('visualizer') or {}).get('attr_decoder'), dict):
        move(cfg.visualizer.attr_decoder, 'prior', 'visualizer.attr_decoder.prior', train_new,
             train_old)


def check_data_root(cfg, data_root):
    """``--data-root`` of train.py/test.py names the dataset folder: it must exist and hold at
    least one of the annotation files the dataloaders name (after :func:`set_data_layout`).
    A wrong folder (a typo, a split's image folder) would otherwise first be reported as a
    missing attribute prior (the train annotation file, read when the model is built); a
    folder with some of them (only the val split, for test.py) passes, each dataset then checks
    its own file. A URI root (``s3://...``) is left as it is: not a local folder to check
    (``FashionpediaDataset`` reads its annotation file with ``open``, a local path)."""
    if data_root is None or '://' in data_root:
        return
    if not osp.isdir(data_root):
        raise CLIError(f'--data-root {data_root}: not a folder (from {os.getcwd()})')
    files = {}
    for name in (n for loaders in SPLIT_LOADERS.values() for n in loaders):
        ds = _dataset(cfg, name)
        if ds is not None and ds.get('ann_file'):
            files[name] = _full(ds.get('data_root') or '', ds['ann_file'])
    if files and not any(osp.isfile(p) for p in files.values()):
        raise CLIError(f'--data-root {data_root}: holds none of the annotation files the config '
                       'names (' + ', '.join(f'{n}: {p}' for n, p in files.items()) + '); give '
                       'the folder that holds them and the image folders (docs/data.md), or the '
                       'files with --train-ann/--val-ann')


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
