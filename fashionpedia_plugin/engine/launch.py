"""What ``tools/train.py`` and ``tools/test.py`` do: mmdet's tools, plus fail-fast checks.

Same flags as mmdet (``--work-dir``, ``--cfg-options``, ``--launcher``, ``--resume``, ``--amp``,
``--auto-scale-lr``); additions: CPU-only distributed runs (gloo, DDP without ``device_ids``),
an unwritable work_dir or a missing config/checkpoint fails in one line before anything is built,
and ``tools/test.py --out x.json`` writes the official Fashionpedia results format.
"""
import argparse
import os
import os.path as osp
import shutil
import sys
import tempfile

import torch
from mmengine.config import Config, DictAction


class CLIError(Exception):
    """A user error reported as one line (no traceback) with exit code 2."""


def run_cli(main, argv=None):
    """Call ``main(argv)``; turn expected user errors into one line on stderr + exit code."""
    from ..datasets.validation import FashionpediaDataError
    from .hooks import InvalidLossError
    try:
        return main(argv)
    except (CLIError, FashionpediaDataError, FileNotFoundError, InvalidLossError) as e:
        msg = str(e).strip() or e.__class__.__name__
        print(f'error: {msg}', file=sys.stderr)
        return 2


def _common_args(parser):
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


def setup_common(cfg, args, config_path):
    cfg.launcher = args.launcher
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])
    if args.launcher != 'none' and not torch.cuda.is_available():
        # CPU-only distributed: gloo backend, DDP must not get device_ids (compat.py has the
        # launcher side of this).
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
        cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None)
    check_work_dir(cfg.work_dir)


def train_parser():
    parser = argparse.ArgumentParser(description='Train a detector (mmdet flags)')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by total batch / auto_scale_lr.base_batch_size')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from CHECKPOINT, or from the latest in work_dir if bare')
    _common_args(parser)
    return parser


def build_train_runner(argv=None):
    args = train_parser().parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    setup_common(cfg, args, args.config)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise CLIError(f'{args.config} has no auto_scale_lr.base_batch_size')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise CLIError(f'checkpoint to resume from not found: {args.resume}')
        cfg.resume, cfg.load_from = True, args.resume
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    return Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)


def train_main(argv=None):
    build_train_runner(argv).train()
    return 0


def test_parser():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a detector (mmdet flags)')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out',
        help='dump predictions: .json = official Fashionpedia results '
        'format (COCO segm results + attribute_ids; a .bbox.json beside it), '
        '.pkl = mmdet raw results')
    parser.add_argument('--show-dir', help='save prediction overlays under work_dir/timestamp/')
    _common_args(parser)
    return parser


def test_main(argv=None):
    args = test_parser().parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise CLIError(f'checkpoint not found: {args.checkpoint}')
    if args.out and not args.out.endswith(('.json', '.pkl', '.pickle')):
        raise CLIError(f'--out must end with .json or .pkl: {args.out}')
    cfg = load_config(args.config, args.cfg_options)
    setup_common(cfg, args, args.config)
    cfg.load_from = args.checkpoint
    tmp = None
    if args.out and args.out.endswith('.json'):
        if not isinstance(cfg.test_evaluator, dict) or \
                cfg.test_evaluator.get('type') != 'FashionpediaMetric':
            raise CLIError('--out .json needs test_evaluator of type FashionpediaMetric')
        tmp = tempfile.mkdtemp(prefix='fp-out-')
        cfg.test_evaluator.outfile_prefix = osp.join(tmp, 'results')
    if args.show_dir:
        cfg.default_hooks.visualization.update(draw=True, test_out_dir=args.show_dir)
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    if args.out and not args.out.endswith('.json'):
        from mmdet.evaluation import DumpDetResults
        runner.test_evaluator.metrics.append(DumpDetResults(out_file_path=args.out))
    metrics = runner.test()
    if tmp is not None:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        prefix = osp.join(tmp, 'results')
        main = prefix + '.segm.json' if osp.exists(prefix + '.segm.json') else prefix + '.bbox.json'
        shutil.move(main, args.out)
        if main.endswith('.segm.json'):
            shutil.move(prefix + '.bbox.json', osp.splitext(args.out)[0] + '.bbox.json')
        shutil.rmtree(tmp, ignore_errors=True)
        print(f'predictions in the official results format: {args.out}')
    return 0 if metrics is not None else 1
