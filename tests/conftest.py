import os
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
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
    from fashionpedia_plugin.datasets import synthetic
    root = str(tmp_path_factory.mktemp('synthetic'))
    synthetic.generate(root, num_train=12, num_val=6, size=320, seed=1)
    return root


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
