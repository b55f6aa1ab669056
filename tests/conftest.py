import os
import os.path as osp
import subprocess

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOLS = osp.join(REPO, 'tools')
# Under ``pytest -n N`` (make test), N workers share the cores: each worker and what it launches
# gets its share of threads (torch/OpenMP, numba), so that training tests do not oversubscribe
# the machine (2 workers x 2 threads on 2 cores ran CPU training several times slower).
if os.environ.get('PYTEST_XDIST_WORKER_COUNT'):
    _share = str(max(1, (os.cpu_count() or 1) // int(os.environ['PYTEST_XDIST_WORKER_COUNT'])))
    for _var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'NUMBA_NUM_THREADS'):
        os.environ.setdefault(_var, _share)

SHARED = os.environ.get('FP_SHARED_DIR', osp.join(osp.dirname(REPO), 'shared'))
SAMPLE_DIR = osp.join(SHARED, 'data', 'fashionpedia-api-sample')
SAMPLE_ANN = osp.join(SAMPLE_DIR, 'sample_final_taxonomy.json')
DEMO_CONFIG = osp.join(REPO, 'configs', 'demo',
                       'attr-mask-rcnn_r18_fpn_demo-520it_synthetic-fashionpedia.py')


@pytest.fixture(scope='session')
def sample_dir():
    if not osp.isfile(SAMPLE_ANN):
        pytest.skip(f'shared real sample not found at {SAMPLE_DIR} (set FP_SHARED_DIR)')
    return SAMPLE_DIR


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory):
    """A tiny synthetic dataset in the official layout (12 train / 6 val images)."""
    from fashionpedia_plugin.toolkit import synthetic
    root = str(tmp_path_factory.mktemp('synthetic'))
    synthetic.generate(root, num_train=12, num_val=6, size=320, seed=1)
    return root


def free_port():
    """A TCP port nobody listens on now (the OS picks it): rendezvous ports of the multi-process
    tests, which may run side by side (``pytest -n``)."""
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def tiny_cfg_options(data_root, work_dir, max_iters=2):
    """--cfg-options that shrink the demo config to a 2-iteration CPU run on ``data_root``."""
    return [
        f'train_dataloader.dataset.data_root={data_root}/',
        f'val_dataloader.dataset.data_root={data_root}/',
        f'test_dataloader.dataset.data_root={data_root}/',
        f'val_evaluator.ann_file={data_root}/annotations/instances_attributes_val2020.json',
        f'test_evaluator.ann_file={data_root}/annotations/instances_attributes_val2020.json',
        f'train_cfg.max_iters={max_iters}',
        f'train_cfg.val_interval={max_iters}',
        'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        f'default_hooks.checkpoint.interval={max_iters}',
        'default_hooks.logger.interval=1',
        # the 2-image batch would otherwise rescale the demo's batch-4 schedule (its own tests
        # in tests/test_schedule_scaling.py)
        'auto_scale_schedule.enable=False',
    ] + prior_options(data_root)


def prior_options(data_root):
    """--cfg-options pointing the demo's attribute prior at ``data_root``'s train annotations."""
    prior = f'{data_root}/annotations/instances_attributes_train2020.json'
    return [
        f'val_evaluator.attr_decoder.prior={prior}', f'test_evaluator.attr_decoder.prior={prior}',
        f'visualizer.attr_decoder.prior={prior}'
    ]


@pytest.fixture(scope='session')
def _registered():
    from mmdet.utils import register_all_modules

    import fashionpedia_plugin  # noqa: F401
    register_all_modules(init_default_scope=False)


@pytest.fixture(autouse=True)
def mmdet_scope(_registered):
    """Components built outside a Runner resolve in mmdet's registries, as in a config. Each
    test starts in the mmdet scope: a Runner built by an earlier test (e.g. with
    ``default_scope='mmengine'``) leaves its own scope current."""
    import time

    from mmengine.registry import DefaultScope
    current = DefaultScope.get_current_instance()
    if current is None or current.scope_name != 'mmdet':
        DefaultScope.get_instance(f'fp-test-{time.time_ns()}', scope_name='mmdet')


def untrained_demo_model(seed=0):
    """The demo config's model (R18, 64-channel FPN, 2fc box head + attribute layer, mask head)
    with seeded random weights, in eval mode, set so that value checks can tell RoIs apart:
    attribute logits that vary from RoI to RoI (weights N(0, 0.3), bias 0: scores around 0.5),
    class logits favouring classes 3 and 7 equally (every RoI kept gives a detection in each,
    of one score), no box regression (a detection's box is its RoI's box), test ``score_thr``
    0."""
    import torch
    from mmdet.registry import MODELS
    from mmengine.config import Config
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.model.test_cfg.rcnn.score_thr = 0.0
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    head = model.roi_head.bbox_head
    with torch.no_grad():
        head.fc_attr.weight.normal_(std=0.3)
        head.fc_attr.bias.zero_()
        head.fc_cls.weight.normal_(std=0.05)
        head.fc_cls.bias.fill_(-3.0)
        head.fc_cls.weight[7] = head.fc_cls.weight[3]
        head.fc_cls.bias[[3, 7]] = 2.0
        head.fc_reg.weight.zero_()
        head.fc_reg.bias.zero_()
    return model.eval()


def tool(*args, check=True, timeout=600):
    """Run a Python tool as a user would (``python tools/X.py ...`` from the repo root)."""
    import subprocess
    import sys
    res = subprocess.run([sys.executable, *map(str, args)],
                         cwd=REPO,
                         capture_output=True,
                         text=True,
                         timeout=timeout)
    if check:
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res


def tool_in_process(script, *args):
    """Run ``script`` (a tool's path) as ``__main__`` in this process with ``argv`` = its
    arguments, as ``python script ...`` would, minus the new interpreter (importing mmdet and
    torch again: ~9 s a call). For the checks of what a tool answers (exit code, error line);
    the tests that start real processes keep :func:`tool`. Returns a ``CompletedProcess``
    (an exception that escapes the tool is printed to its stderr as a traceback, exit 1)."""
    import contextlib
    import io
    import runpy
    import sys
    import traceback
    out, err, code = io.StringIO(), io.StringIO(), 0
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [str(script), *map(str, args)]
    sys.path.insert(0, osp.dirname(str(script)))  # as python puts the script's folder first
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                runpy.run_path(str(script), run_name='__main__')
            except SystemExit as e:  # sys.exit(code): as the interpreter reads it
                if isinstance(e.code, str):
                    print(e.code, file=sys.stderr)
                code = e.code if isinstance(e.code, int) else int(e.code is not None)
            except BaseException:
                traceback.print_exc()
                code = 1
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    return subprocess.CompletedProcess(sys.argv, code, out.getvalue(), err.getvalue())


def run_tool(*args, timeout=600):
    """:func:`tool`, checked; returns stdout + stderr."""
    res = tool(*args, timeout=timeout)
    return res.stdout + res.stderr


@pytest.fixture(scope='session')
def trained(synthetic_root, tmp_path_factory):
    """tools/train.py on the synthetic data for 2 iterations (a user's command line):
    ``(work_dir, log)``; the checkpoint is ``work_dir/iter_2.pth``."""
    work = str(tmp_path_factory.mktemp('train'))
    # + every experiment tracker (tests/test_launch.py reads their scalars back); the MLflow
    # store goes beside the work dir (tools/train.py --vis-backend), W&B runs offline
    log = run_tool('tools/train.py', DEMO_CONFIG, '--work-dir', work, '--vis-backend',
                   'tensorboard', '--vis-backend', 'mlflow', '--vis-backend', 'wandb',
                   '--cfg-options', *tiny_cfg_options(synthetic_root, work))
    return work, log


def run(args, env=None, timeout=600, check=True):
    res = subprocess.run(
        args,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, **(env or {})))
    if check:
        assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    return res


def derived_config(tmp_path, body, name='derived.py'):
    p = tmp_path / name
    p.write_text(f"_base_ = {DEMO_CONFIG!r}\n" + body)
    return str(p)


# a pipeline without random transforms: the resumed run can then match bit for bit
DETERMINISTIC = """
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='LoadFashionpediaAttributes'),
    dict(type='Resize', scale=(320, 320), keep_ratio=True),
    dict(type='PackFashionpediaInputs'),
]))
custom_hooks = [dict(type='InvalidLossHook'), dict(type='RNGStateHook'),
                dict(type='WeightsOnlyCheckpointHook')]
"""
