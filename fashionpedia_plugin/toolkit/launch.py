"""What ``tools/train.py`` and ``tools/test.py`` do: mmdet's tools, plus fail-fast checks.

Same flags as mmdet (``--work-dir``, ``--cfg-options``, ``--launcher``, ``--resume``, ``--amp``,
``--auto-scale-lr``); additions: an unwritable work_dir or a missing config/checkpoint fails in
one line before anything is built, ``tools/test.py --out x.json`` writes the official Fashionpedia
results format (``--attr-scores``: and the raw attribute scores), ``--attr-decoder`` replaces the
attribute decoding.
"""
import logging
import os
import os.path as osp
import shutil
import tempfile
from collections import Counter

from mmengine.runner import Runner

from ..apis.checkpoint import CheckpointLoadError, load_checkpoint_file, trust_checkpoints
from ..engine.hooks.resume_checks import checkpoint_dir
from .cli import (CLIError, ToolParser, check_data_root, check_work_dir, common_args, data_args,
                  data_root_arg, load_config, trust_checkpoint_arg)
from .resume import check_resume_weights, latest_in_work_dir, resume_seed
from .schedule_scaling import (describe, nodes_from_env, rescaled_options, resolve_schedule,
                               world_size_from_env)

# Long blocks that mmengine's Runner logs at start: kept in the log file, not on the console.
FILE_ONLY = ('\n' + '-' * 60 + '\nSystem environment:', 'Config:\n',
             'Hooks will be executed in the following order')
# mmengine's DefaultOptimWrapperConstructor logs one "paramwise_options -- NAME:KEY=VALUE" line
# per parameter with a paramwise_cfg setting (147 for the paper configs' no decay on norms and
# biases): in the log file only; the console gets one summary line (QuietRunner).
PARAMWISE = 'paramwise_options -- '


class _FileOnly(logging.Filter):
    """Keeps :data:`FILE_ONLY` blocks and :data:`PARAMWISE` lines off a console handler;
    ``paramwise`` counts the held-back ``KEY=VALUE`` settings."""

    def __init__(self):
        super().__init__()
        self.paramwise = Counter()

    def filter(self, record):
        msg = str(record.msg)
        if msg.startswith(PARAMWISE):
            self.paramwise[msg.rsplit(':', 1)[-1]] += 1
            return False
        return not msg.startswith(FILE_ONLY)


class QuietRunner(Runner):
    """mmengine's ``Runner`` whose console omits the environment, config and hook listings
    (about 600 lines before the first useful one) and the per-parameter ``paramwise_options``
    lines of the optimizer (one summary line instead); the log file in work_dir keeps them.
    This is the one place the tools shape mmengine's console output: a filter on this runner's
    console handler, nothing of mmengine is patched."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.logger.info(f'{self.experiment_name}: seed {self.seed}, distributed training: '
                         f'{self.distributed}, processes: {self.world_size}; environment, '
                         f'config and hooks in {getattr(self.logger, "log_file", self.log_dir)}')

    def build_logger(self, *args, **kwargs):
        logger = super().build_logger(*args, **kwargs)
        self._console_filters = []
        for h in logger.handlers:
            if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler):
                self._console_filters.append(_FileOnly())
                h.addFilter(self._console_filters[-1])
        return logger

    def build_optim_wrapper(self, optim_wrapper):
        built = super().build_optim_wrapper(optim_wrapper)
        counts = self._console_filters[0].paramwise if self._console_filters else None
        if counts:
            settings = ', '.join(f'{k} on {n} parameters' for k, n in sorted(counts.items()))
            self.logger.info(f'paramwise_cfg: {settings} (one line each in '
                             f'{getattr(self.logger, "log_file", self.log_dir)})')
        for f in self._console_filters:
            f.paramwise.clear()
        return built


def build_runner(cfg):
    from mmengine.registry import RUNNERS
    return QuietRunner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)


def check_loaded_weights(runner, checkpoint, allow_partial, loaded=None, temp_dir=None):
    """The checkpoint fits the runner's model, before any step runs (``apis/checkpoint.py``).
    A refused checkpoint leaves nothing behind: the run's log folder that building the Runner
    made (``work_dir/<timestamp>/``, no step ran in it) and ``temp_dir`` are removed."""
    from ..apis.checkpoint import CheckpointMismatchError, check_checkpoint
    try:
        check_checkpoint(runner.model, checkpoint, allow_partial, runner.logger, loaded)
    except CheckpointMismatchError:  # the refusal (one line); other errors keep their log
        for handler in list(runner.logger.handlers):  # the log file lives in the log folder
            if isinstance(handler, logging.FileHandler):
                handler.close()
                runner.logger.removeHandler(handler)
        for path in (runner.log_dir, temp_dir):
            if path:
                shutil.rmtree(path, ignore_errors=True)
        raise


def selection_warning(checkpoint_path, checkpoint, cfg):
    """One line when a ``best_*`` checkpoint is evaluated on the split that selected it (its
    number is biased upwards: report the final checkpoint), or None."""
    from ..engine.hooks import evaluated_split
    if not osp.basename(checkpoint_path).startswith('best_'):
        return None
    meta = (checkpoint.get('meta') or {}) if isinstance(checkpoint, dict) else {}
    selected = (meta.get('fashionpedia') or {}).get('selected_on')
    split = evaluated_split(cfg, ('test_evaluator', 'val_evaluator'))
    if selected is None:
        return (f'warning: {osp.basename(checkpoint_path)} is a best-of-run checkpoint and does '
                f'not record the split it was selected on: if that is {split}, this number is '
                f'biased upwards; report the final checkpoint')
    if split is not None and osp.basename(selected) == osp.basename(split):
        return (f'warning: {osp.basename(checkpoint_path)} was selected on {selected} and is '
                f'evaluated on the same split: the number is biased upwards; report the final '
                f'checkpoint (iter_N.pth of the last iteration), or select on another split')
    return None


def allow_partial_arg(parser):
    parser.add_argument(
        '--allow-partial',
        action='store_true',
        help='load a checkpoint that does not fit the model (missing, unexpected or reshaped '
        'weights), with a warning, instead of stopping')


def local_rank(launcher, given=0):
    """``LOCAL_RANK`` where the launcher set none: mmengine's ``_init_dist_mpi`` picks the GPU
    from ``OMPI_COMM_WORLD_LOCAL_RANK``, but ``Runner.wrap_model`` hands DDP
    ``device_ids=[LOCAL_RANK]``: the same number, or every rank of a node would ask for GPU 0
    (mmdet's tools/train.py sets ``--local_rank``, 0)."""
    mpi = os.environ.get('OMPI_COMM_WORLD_LOCAL_RANK', '')
    return mpi if launcher == 'mpi' and mpi.isdigit() else str(given)


def gather_results_in_memory(cfg, nodes):
    """On more than one machine, the evaluators gather the ranks' results through the process
    group (``collect_device='gpu'``: mmengine's ``all_gather_object``, any backend) instead of
    mmengine's default ``'cpu'``, which has every rank write a pickle into a folder under the
    current directory that rank 0 then reads: on nodes without a shared working directory the
    first validation stops with "... is not an shared directory" (mmengine dist/dist.py
    ``collect_results_cpu``). A metric that sets ``collect_device`` keeps it. Returns a log
    line, or None."""
    if nodes <= 1:
        return None
    changed = []
    for key in ('val_evaluator', 'test_evaluator'):
        ev = cfg.get(key)
        for metric in ev if isinstance(ev, (list, tuple)) else [ev] if ev else []:
            if isinstance(metric, dict) and 'collect_device' not in metric:
                metric['collect_device'] = 'gpu'
                changed.append(f'{key}.{metric.get("type", "?")}')
    if not changed:
        return None
    return (f'{nodes} nodes: {", ".join(changed)} gather results through the process group '
            "(collect_device='gpu'), not through a folder every node must share")


def setup_common(cfg, args, config_path):
    if args.trust_checkpoint:
        trust_checkpoints()
    if args.launcher != 'none':
        from ..compat import patch_cpu_distributed
        patch_cpu_distributed()  # CPU-only machines: gloo (no-op with CUDA)
    cfg.launcher = args.launcher
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = local_rank(args.launcher, args.local_rank)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])
    check_work_dir(cfg.work_dir)
    return gather_results_in_memory(cfg, nodes_from_env(args.launcher))  # a log line, or None


def train_parser():
    parser = ToolParser(description='Train a detector (mmdet flags)')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by total batch / auto_scale_lr.base_batch_size')
    parser.add_argument(
        '--keep-schedule',
        action='store_true',
        help='keep lr, iterations, lr drops, warm-up and intervals as the config writes them; '
        'by default they are rescaled by images seen from the config\'s total batch '
        '(auto_scale_lr.base_batch_size) to this run\'s (processes x batch_size)')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from CHECKPOINT, or from the latest in work_dir if bare')
    parser.add_argument(
        '--vis-backend',
        action='append',
        choices=sorted(VIS_BACKENDS),
        help='also log scalars (losses, lr, val loss, AP, IoU+F1 AP) to this experiment tracker; '
        'repeatable. tensorboard: work_dir/<timestamp>/vis_data/; mlflow: the store in '
        '$MLFLOW_TRACKING_URI, else file:<work_dir>/../mlruns, experiment = config name; wandb: '
        'offline unless $WANDB_MODE says otherwise (wandb sync work_dir/<timestamp>/vis_data/wandb/'
        'offline-run-* to upload)')
    allow_partial_arg(parser)
    trust_checkpoint_arg(parser)
    data_root_arg(parser)
    common_args(parser)
    return parser


# Backends of mmengine's Visualizer (mmengine/visualization/vis_backend.py) behind --vis-backend.
VIS_BACKENDS = dict(
    tensorboard='TensorboardVisBackend', mlflow='MLflowVisBackend', wandb='WandbVisBackend')


def add_vis_backends(cfg, names, config_path):
    """Append the trackers ``names`` to ``cfg.visualizer.vis_backends`` (kept: the local one),
    checking first that their package is installed (one line, before anything is built)."""
    import importlib.util
    exp = osp.splitext(osp.basename(config_path))[0]
    backends = list(cfg.visualizer.get('vis_backends') or [dict(type='LocalVisBackend')])
    for name in dict.fromkeys(names):  # repeated flags count once
        if importlib.util.find_spec(name) is None:  # each flag is named after its package
            raise CLIError(f'--vis-backend {name}: the {name} package is not installed '
                           f'(pip install -e ".[trackers]")')
        backend = dict(type=VIS_BACKENDS[name])
        if name == 'mlflow':
            uri = os.environ.get('MLFLOW_TRACKING_URI') or \
                'file:' + osp.join(osp.dirname(osp.abspath(cfg.work_dir)), 'mlruns')
            backend.update(exp_name=exp, tracking_uri=uri)
            # MLflow >= 3 refuses its file store (in "maintenance mode") unless this is set; it
            # is the local store that needs no database (a sqlite:// URI works too)
            if uri.startswith('file:'):
                os.environ.setdefault('MLFLOW_ALLOW_FILE_STORE', 'true')
        elif name == 'wandb':
            backend.update(
                init_kwargs=dict(
                    project=os.environ.get('WANDB_PROJECT', 'fashionpedia'),
                    name=exp,
                    mode=os.environ.get('WANDB_MODE', 'offline')))
        if not any(b.get('type') == backend['type'] for b in backends):
            backends.append(backend)
    cfg.visualizer.vis_backends = backends


def check_train_needs(cfg, config):
    """What a training run needs that mmengine would only miss after the datasets are built
    (on real data, after reading 45k images): torchvision for a ``torchvision://`` backbone
    checkpoint, a CUDA device for AMP."""
    import importlib.util

    import torch
    init = (cfg.model.get('backbone') or {}).get('init_cfg') or {}
    ckpt = init.get('checkpoint', '') if isinstance(init, dict) else ''
    if str(ckpt).startswith('torchvision://') and importlib.util.find_spec('torchvision') is None:
        raise CLIError(f'{config}: the backbone starts from {ckpt}, which needs torchvision: '
                       f'pip install the torchvision of torch {torch.__version__}, or '
                       '--cfg-options model.backbone.init_cfg.checkpoint=/path/to/weights.pth '
                       '(model.backbone.init_cfg=None trains from scratch)')
    if cfg.optim_wrapper.get('type') == 'AmpOptimWrapper' and not torch.cuda.is_available():
        raise CLIError(f'{config}: AMP (--amp or AmpOptimWrapper) trains on a CUDA device only, '
                       'and none is visible')


def build_train_runner(argv=None):
    args = train_parser().parse_args(argv)
    if args.amp and 'optim_wrapper.type' not in (args.cfg_options or {}):
        # before the options are checked: --amp --cfg-options optim_wrapper.dtype=bfloat16 sets a
        # parameter of AmpOptimWrapper, not of the config's OptimWrapper
        args.cfg_options = {**(args.cfg_options or {}), 'optim_wrapper.type': 'AmpOptimWrapper'}
    cfg = load_config(args.config, args.cfg_options, **data_args(args))
    check_data_root(cfg, args.data_root)
    nodes_note = setup_common(cfg, args, args.config)
    if args.vis_backend:
        add_vis_backends(cfg, args.vis_backend, args.config)
    if args.amp and 'optim_wrapper.loss_scale' not in args.cfg_options:
        cfg.optim_wrapper.loss_scale = 'dynamic'
    check_train_needs(cfg, args.config)
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise CLIError(f'{args.config} has no auto_scale_lr.base_batch_size')
        cfg.auto_scale_lr.enable = True
    schedule = resolve_schedule(cfg, world_size_from_env(args.launcher), args.keep_schedule)
    if schedule['enable'] and cfg.get('auto_scale_lr', {}).get('enable'):
        cfg.auto_scale_lr.enable = False  # the lr is already scaled with the schedule
    hooks = cfg.setdefault('custom_hooks', [])
    for needed in ('CheckpointProvenanceHook', 'WeightsOnlyCheckpointHook'):
        if not any(h.get('type') == needed for h in hooks):
            hooks.append(dict(type=needed))
    resume_note, found = None, None
    if args.resume not in (None, 'auto'):
        if not osp.isfile(args.resume):
            raise CLIError(f'checkpoint to resume from not found: {args.resume}')
        cfg.resume, cfg.load_from = True, args.resume
    elif args.resume == 'auto' or cfg.get('resume') and not cfg.get('load_from'):
        # bare --resume (or resume=True in the config): the run's own checkpoint, not the
        # absolute path in last_checkpoint; handed to the runner below, so that the config it
        # dumps does not pin it (a rerun of that config resumes from its newest, as mmengine)
        ckpt_hook = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
        found, resume_note = latest_in_work_dir(
            cfg.work_dir, checkpoint_dir(osp.abspath(cfg.work_dir), ckpt_hook.get('out_dir')))
        # nothing to resume yet (the first launch of a job that always passes --resume): the
        # config's load_from (pretrained weights) is loaded as without --resume, not dropped
        cfg.resume = bool(found) or not (args.resume == 'auto' and cfg.get('load_from'))
        if cfg.resume:
            cfg.load_from = None
    if cfg.get('load_from') and not cfg.get('resume'):
        if not osp.isfile(cfg.load_from):
            raise CLIError(f'load_from checkpoint not found: {cfg.load_from}')
    first = found or cfg.get('load_from')
    loaded = None
    if first and osp.isfile(first):  # opened once up front: a bad file fails in one line
        try:
            loaded = load_checkpoint_file(first)
        except CheckpointLoadError as e:
            if resume_note is None:
                raise
            raise CheckpointLoadError(f'{e} ({resume_note})') from None
    seed_note = resume_seed(cfg, loaded) if cfg.get('resume') else None
    runner = build_runner(cfg)
    lines = describe(schedule, args.keep_schedule) + [seed_note, nodes_note]
    lines += [rescaled_options(schedule, args.cfg_options)] if args.cfg_options else []
    for line in filter(None, lines):
        if line.startswith('warning: '):
            runner.logger.warning(line[len('warning: '):])
        else:
            runner.logger.info(line)
    if args.auto_scale_lr and schedule['enable']:
        runner.logger.info('--auto-scale-lr: the lr is scaled with the schedule above')
    if resume_note:
        runner.logger.warning(resume_note)
    if found:
        runner._load_from = found  # Runner.load_or_resume resumes from it
    if args.resume == 'auto' and not found:  # mmengine would start afresh, saying "None"
        start = f', from the config\'s load_from {cfg.load_from}' if cfg.get('load_from') else ''
        runner.logger.warning(f'--resume: no checkpoint in {cfg.work_dir} (no last_checkpoint '
                              f'file): this run starts from iteration 0{start}')
    if cfg.get('load_from') and not cfg.get('resume'):
        check_loaded_weights(runner, cfg.load_from, args.allow_partial, loaded)
    elif loaded is not None:
        check_resume_weights(runner, first, loaded)
    return runner


def finish_distributed():
    """Wait for every rank, then take the process group down: mmengine leaves it up, and a
    rank that exits with gloo's threads still running can abort at teardown ("terminate called
    without an active exception", exit code -6), failing a run that had succeeded."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def train_main(argv=None):
    build_train_runner(argv).train()
    finish_distributed()
    return 0


def test_parser():
    parser = ToolParser(description='Test (and evaluate) a detector (mmdet flags)')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out',
        help='dump predictions: .json = official Fashionpedia results '
        'format (COCO segm results + attribute_ids; a .bbox.json beside it), '
        '.pkl = mmdet raw results')
    parser.add_argument(
        '--attr-scores',
        action='store_true',
        help='with --out x.json: also write x.attr_scores.npz, the raw attribute scores of every '
        'detection (input of tools/analysis_tools/tune_attributes.py)')
    parser.add_argument(
        '--attr-decoder',
        help='attribute decoder JSON (written by tune_attributes.py): replaces '
        'test_evaluator.attr_decoder')
    parser.add_argument(
        '--show-dir',
        help='save prediction overlays in work_dir/<timestamp>/SHOW_DIR (SHOW_DIR itself if '
        'absolute); the folder is printed at the end')
    allow_partial_arg(parser)
    trust_checkpoint_arg(parser)
    data_root_arg(parser)
    common_args(parser)
    return parser


def set_show_dir(runner, show_dir):
    """The folder ``--show-dir`` overlays go to, absolute: ``work_dir/<timestamp>/show_dir``
    (or ``show_dir`` itself if absolute), set on the runner's visualization hook up front, as
    mmdet 3.3.0's ``DetVisualizationHook.after_test_iter`` would resolve it at the first test
    iteration (joining an absolute path again leaves it as it is), so that it can be printed."""
    folder = osp.join(runner.work_dir, runner.timestamp, show_dir)
    for hook in runner.hooks:
        if hasattr(hook, 'test_out_dir'):
            hook.test_out_dir = folder
    return folder


def attr_scores_path(out):
    """``x.json`` -> ``x.attr_scores.npz``."""
    return osp.splitext(out)[0] + '.attr_scores.npz'


def test_main(argv=None):
    args = test_parser().parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise CLIError(f'checkpoint not found: {args.checkpoint}')
    if args.out and not args.out.endswith(('.json', '.pkl', '.pickle')):
        raise CLIError(f'--out must end with .json or .pkl: {args.out}')
    if args.attr_scores and not (args.out or '').endswith('.json'):
        raise CLIError('--attr-scores needs --out x.json')
    if args.attr_decoder and not osp.isfile(args.attr_decoder):
        raise CLIError(f'attribute decoder file not found: {args.attr_decoder}')
    cfg = load_config(args.config, args.cfg_options, **data_args(args))
    check_data_root(cfg, args.data_root)
    nodes_note = setup_common(cfg, args, args.config)
    cfg.load_from = args.checkpoint
    fp_metric = isinstance(cfg.test_evaluator, dict) and \
        cfg.test_evaluator.get('type') == 'FashionpediaMetric'
    if (args.attr_decoder or (args.out or '').endswith('.json')) and not fp_metric:
        raise CLIError('--out .json and --attr-decoder need test_evaluator of type '
                       'FashionpediaMetric')
    if args.attr_decoder:  # checked (and its prior read) before anything is built
        from ..models.task_modules import AttributeDecoder
        cfg.test_evaluator.attr_decoder = AttributeDecoder.from_file(args.attr_decoder).to_config()
    loaded = load_checkpoint_file(args.checkpoint)  # a bad file fails here, in one line
    tmp = None
    if args.out and args.out.endswith('.json'):
        tmp = tempfile.mkdtemp(prefix='fp-out-')
        cfg.test_evaluator.outfile_prefix = osp.join(tmp, 'results')
        if args.attr_scores:
            os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
            cfg.test_evaluator.attr_scores_file = attr_scores_path(args.out)
    if args.show_dir:
        cfg.default_hooks.visualization.update(draw=True, test_out_dir=args.show_dir)
    runner = build_runner(cfg)
    show_dir = set_show_dir(runner, args.show_dir) if args.show_dir else None
    if nodes_note:
        runner.logger.info(nodes_note)
    check_loaded_weights(runner, args.checkpoint, args.allow_partial, loaded, temp_dir=tmp)
    biased = selection_warning(args.checkpoint, loaded, cfg)
    if biased:
        runner.logger.warning(biased[len('warning: '):])
    del loaded
    if args.out and not args.out.endswith('.json'):
        from mmdet.evaluation import DumpDetResults
        runner.test_evaluator.metrics.append(DumpDetResults(out_file_path=args.out))
    metrics = runner.test()
    from mmengine.dist import is_main_process
    if tmp is not None and not is_main_process():  # rank 0 evaluates and writes the files
        shutil.rmtree(tmp, ignore_errors=True)
    elif tmp is not None:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        prefix = osp.join(tmp, 'results')
        main = prefix + '.segm.json' if osp.exists(prefix + '.segm.json') else prefix + '.bbox.json'
        shutil.move(main, args.out)
        if main.endswith('.segm.json'):
            shutil.move(prefix + '.bbox.json', osp.splitext(args.out)[0] + '.bbox.json')
        shutil.rmtree(tmp, ignore_errors=True)
        print(f'predictions in the official results format: {args.out}')
        if args.attr_scores:
            print(f'raw attribute scores: {attr_scores_path(args.out)}')
    if show_dir is not None and is_main_process():
        n = len(os.listdir(show_dir)) if osp.isdir(show_dir) else 0
        print(f'prediction overlays of {n} images: {show_dir}')
    finish_distributed()
    return 0 if metrics is not None else 1
