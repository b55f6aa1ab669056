"""mmdet's own shipped tools (site-packages/mmdet/.mim/tools) run on the demo config with a tiny
run: train, test, browse_dataset, confusion_matrix, analyze_results, eval_metric, get_flops,
benchmark and print_config, each with exit code 0 and its expected output."""
import glob
import os.path as osp
import subprocess
import sys

import mmdet
import pytest
from conftest import DEMO_CONFIG, REPO

MMDET_TOOLS = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools')
pytestmark = pytest.mark.slow


def mmdet_tool(name, *args):
    res = subprocess.run(
        [sys.executable, osp.join(MMDET_TOOLS, name), *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600)
    assert res.returncode == 0, name + '\n' + res.stdout[-3000:] + res.stderr[-3000:]
    return res.stdout + res.stderr


@pytest.fixture(scope='module')
def run(synthetic_root, tmp_path_factory):
    """A derived config (tiny run on the synthetic data) and mmdet's train.py + test.py on it."""
    work = tmp_path_factory.mktemp('mmdet_tools')
    cfg = work / 'tiny.py'
    cfg.write_text(f"""_base_ = {DEMO_CONFIG!r}
data_root = {synthetic_root + '/'!r}
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root))
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
attr_decoder = dict(prior=data_root + 'annotations/instances_attributes_train2020.json')
val_evaluator = dict(ann_file=data_root + 'annotations/instances_attributes_val2020.json',
                     attr_decoder=attr_decoder)
test_evaluator = val_evaluator
visualizer = dict(attr_decoder=attr_decoder)
train_cfg = dict(max_iters=2, val_interval=2)
default_hooks = dict(checkpoint=dict(interval=2), logger=dict(interval=1))
model = dict(test_cfg=dict(rcnn=dict(score_thr=0.0)))
""")
    log = mmdet_tool('train.py', cfg, '--work-dir', work / 'train')
    assert 'fashionpedia/segm_iouf1_AP' in log
    ckpt = work / 'train' / 'iter_2.pth'
    pkl = work / 'results.pkl'
    log = mmdet_tool('test.py', cfg, ckpt, '--work-dir', work / 'test', '--out', pkl)
    assert pkl.exists() and 'fashionpedia/segm_iouf1_AP' in log
    return cfg, ckpt, pkl, work


def test_browse_dataset_draws_ground_truth_attributes(run):
    cfg, _, _, work = run
    mmdet_tool('analysis_tools/browse_dataset.py', cfg, '--output-dir', work / 'browse',
               '--not-show')
    assert len(glob.glob(str(work / 'browse' / '*.jpg'))) == 12


def test_confusion_matrix_analyze_results_and_eval_metric(run):
    cfg, _, pkl, work = run
    mmdet_tool('analysis_tools/confusion_matrix.py', cfg, pkl, work / 'cm')
    assert (work / 'cm' / 'confusion_matrix.png').exists()
    mmdet_tool('analysis_tools/analyze_results.py', cfg, pkl, work / 'ar', '--topk', '2')
    assert glob.glob(str(work / 'ar' / '*' / '*.jpg'))
    out = mmdet_tool('analysis_tools/eval_metric.py', cfg, pkl)
    assert 'segm_mAP' in out


def test_get_flops_benchmark_and_print_config(run):
    cfg, ckpt, _, _ = run
    assert 'Flops' in mmdet_tool('analysis_tools/get_flops.py', cfg, '--num-images', '2')
    # mmdet's inference benchmark moves the model to CUDA unconditionally: on CPU the data
    # loader and dataset benchmarks run
    for task in ('dataloader', 'dataset'):
        mmdet_tool('analysis_tools/benchmark.py', cfg, '--checkpoint', ckpt, '--task', task,
                   '--max-iter', '3', '--num-warmup', '1', '--log-interval', '1')
    assert 'FashionpediaMetric' in mmdet_tool('misc/print_config.py', cfg)
