"""What every tool shares: one-line user errors, config loading, mmdet's common flags.

A tool's ``main(argv)`` raises :class:`CLIError` (or a named data error) for anything the user
can fix; :func:`run_cli` prints it as one ``error:`` line on stderr and returns exit code 2.
"""
import os
import os.path as osp
import shutil
import sys
import tempfile

from mmengine.config import Config, DictAction


class CLIError(Exception):
    """A user error reported as one line (no traceback) with exit code 2."""


def run_cli(main, argv=None):
    """Call ``main(argv)``; turn expected user errors into one line on stderr + exit code."""
    from ..datasets.validation import FashionpediaDataError
    from ..engine.hooks import InvalidLossError
    try:
        return main(argv)
    except (CLIError, FashionpediaDataError, FileNotFoundError, InvalidLossError) as e:
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


def load_config(path, cfg_options=None):
    if not osp.isfile(path):
        raise CLIError(f'config file not found: {path}')
    if not path.endswith('.py'):
        raise CLIError(f'config must be a Python config file (.py): {path}')
    try:
        cfg = Config.fromfile(path)
    except Exception as e:  # syntax errors, missing _base_ files, ...
        raise CLIError(f'cannot load config {path}: {e.__class__.__name__}: {e}') from None
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


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
