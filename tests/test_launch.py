"""tools/train.py and tools/test.py (toolkit/launch.py): CPU runs, the official results format,
distributed CPU runs, work_dir checks."""
import glob
import json
import os
import os.path as osp
import sys

import numpy as np
import pytest
from conftest import DEMO_CONFIG, TOOLS, run, run_tool, tiny_cfg_options


def test_train_two_iterations_synthetic(trained):
    work, log = trained
    assert osp.isfile(osp.join(work, 'iter_2.pth'))
    assert 'loss_attr' in log and 'fashionpedia/segm_iouf1_AP' in log


def test_trackers_receive_the_scalars(trained, monkeypatch):
    """tools/train.py --vis-backend tensorboard/mlflow/wandb (the trained fixture): each one
    holds the train losses, the lr, the validation loss and the IoU+F1 AP, read back from its
    own files."""
    work, _ = trained
    # the training's run (other tests add test runs of its checkpoint to the same work dir)
    (events_file, ) = glob.glob(osp.join(work, '*', 'vis_data', 'events.out.tfevents.*'))
    vis = osp.dirname(events_file)
    wanted = {'loss', 'loss_attr', 'lr', 'val_loss', 'fashionpedia/segm_iouf1_AP'}
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(vis)
    events.Reload()
    assert wanted <= set(events.Tags()['scalars'])
    assert [e.step for e in events.Scalars('loss')] == [1, 2]
    assert [e.step for e in events.Scalars('fashionpedia/segm_iouf1_AP')] == [2]

    monkeypatch.setenv('MLFLOW_ALLOW_FILE_STORE', 'true')  # as tools/train.py sets it
    from mlflow.tracking import MlflowClient
    client = MlflowClient('file:' + osp.join(osp.dirname(work), 'mlruns'))
    exp = client.get_experiment_by_name(osp.splitext(osp.basename(DEMO_CONFIG))[0])
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 1
    assert wanted <= set(runs[0].data.metrics)
    assert len(client.get_metric_history(runs[0].info.run_id, 'loss')) == 2

    offline = glob.glob(osp.join(vis, 'wandb', 'offline-run-*', 'run-*.wandb'))
    assert len(offline) == 1
    history = _wandb_history(offline[0])
    assert wanted <= set(history)
    assert len(history['loss']) == 2


def _wandb_history(path):
    """``{key: [values]}`` of the history records of a W&B offline run file: a LevelDB-style
    log (32 KiB blocks; a 7-byte file header ``:W&B`` + magic + version; records of checksum
    (4 bytes), length (2), type (1: full, 2-4: first/middle/last piece)) of ``Record`` protos
    (wandb 0.31 has no Python reader of its own any more)."""
    import struct

    from wandb.proto import wandb_internal_pb2
    data = open(path, 'rb').read()
    assert data[:4] == b':W&B', path
    pos, block, chunks, out = 7, 32768, b'', {}
    while pos + 7 <= len(data):
        left = block - pos % block
        length, kind = struct.unpack('<HB', data[pos + 4:pos + 7]) if left >= 7 else (0, 0)
        if kind == 0:  # block trailer / padding
            pos += left
            continue
        chunks += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):
            rec = wandb_internal_pb2.Record()
            rec.ParseFromString(chunks)
            chunks = b''
            if rec.WhichOneof('record_type') == 'history':
                for item in rec.history.item:
                    key = item.key or '/'.join(item.nested_key)
                    out.setdefault(key, []).append(json.loads(item.value_json))
    return out


def test_vis_backend_needs_its_package(tmp_path, monkeypatch):
    import importlib.util

    from fashionpedia_plugin.toolkit.cli import CLIError
    from fashionpedia_plugin.toolkit.launch import build_train_runner
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: None
                        if name == 'wandb' else real(name, *a))
    with pytest.raises(CLIError, match='wandb package is not installed'):
        build_train_runner([DEMO_CONFIG, '--work-dir', str(tmp_path), '--vis-backend', 'wandb'])


def test_test_out_is_official_format(trained, synthetic_root, tmp_path):
    work, _ = trained
    out = str(tmp_path / 'preds.json')
    log = run_tool('tools/test.py', DEMO_CONFIG, osp.join(work, 'iter_2.pth'), '--work-dir',
                   str(tmp_path), '--out', out, '--cfg-options',
                   *tiny_cfg_options(synthetic_root, str(tmp_path)),
                   'model.test_cfg.rcnn.score_thr=0.0')  # an untrained model scores ~1/47
    assert 'official results format' in log
    preds = json.load(open(out))
    assert osp.isfile(str(tmp_path / 'preds.bbox.json'))
    assert preds and all(
        {'image_id', 'category_id', 'score', 'bbox', 'segmentation', 'attribute_ids'} <= set(p)
        for p in preds)
    # accepted by the official evaluator
    import contextlib
    import io

    from fashionpedia.fp import Fashionpedia
    from fashionpedia.fp_eval import FPEval

    from fashionpedia_plugin.compat import numpy_float_alias
    ann = osp.join(synthetic_root, 'annotations', 'instances_attributes_val2020.json')
    with contextlib.redirect_stdout(io.StringIO()), numpy_float_alias():
        gt = Fashionpedia(ann)
        ev = FPEval(gt, gt.loadRes(out), 'segm')
        ev.run()
    assert 'AP' in ev.results
    # the offline CLI on the same dump: same numbers as the official evaluator
    metrics = str(tmp_path / 'metrics.json')
    out_cli = run_tool('tools/analysis_tools/fashionpedia_eval.py', ann, out, '--out', metrics)
    assert 'vectorized evaluator, segm' in out_cli
    views = json.load(open(metrics))
    for view, ref in (('iou+f1', ev.results), ('iou', ev.resultDet), ('f1', ev.resultF1)):
        for k, v in ref.items():
            assert views[view][k] == pytest.approx(v, abs=1e-9), (view, k)


def test_train_two_iterations_real_sample(sample_dir, tmp_path):
    from fashionpedia_plugin.toolkit.launch import build_train_runner
    ann = osp.join(sample_dir, 'sample_final_taxonomy.json')
    opts = [
        o for o in tiny_cfg_options(sample_dir, str(tmp_path))
        if 'ann_file' not in o and 'data_root' not in o
    ]
    opts += [
        f'train_dataloader.dataset.ann_file={ann}',
        f'val_dataloader.dataset.ann_file={ann}',
        f'val_evaluator.ann_file={ann}',
        'train_dataloader.dataset.data_root=',
        'val_dataloader.dataset.data_root=',
        f'train_dataloader.dataset.data_prefix.img={sample_dir}/images/',
        f'val_dataloader.dataset.data_prefix.img={sample_dir}/images/',
        'train_dataloader.dataset.filter_cfg.min_size=0',
        # the class prior from the sample itself (an annotation file works as a prior)
        f'val_evaluator.attr_decoder.prior={ann}',
        f'visualizer.attr_decoder.prior={ann}'
    ]
    runner = build_train_runner([DEMO_CONFIG, '--work-dir', str(tmp_path), '--cfg-options', *opts])
    runner.train()
    hub = runner.message_hub  # (scalars.json may belong to an earlier in-process Visualizer)
    assert runner.iter == 2
    assert np.isfinite(hub.get_scalar('train/loss_attr').current())
    assert 'val/fashionpedia/segm_iouf1_AP' in hub.log_scalars


@pytest.mark.slow
def test_dist_train_and_test_two_cpu_processes(synthetic_root, tmp_path):
    port = str(29700 + os.getpid() % 200)
    env = dict(PYTHON=sys.executable, PORT=port, OMP_NUM_THREADS='1')
    work = str(tmp_path / 'dist')
    res = run([
        'bash',
        osp.join(TOOLS, 'dist_train.sh'), DEMO_CONFIG, '2', '--work-dir', work, '--cfg-options',
        *tiny_cfg_options(synthetic_root, work)
    ],
              env=env)
    out = res.stdout + res.stderr
    assert 'distributed training: True, processes: 2' in out
    # metrics gathered once over the 6 val images, no duplicates (checked in the metric)
    assert out.count('FashionpediaMetric: evaluated 6 images') == 1
    assert osp.isfile(osp.join(work, 'iter_2.pth'))
    res = run([
        'bash',
        osp.join(TOOLS, 'dist_test.sh'), DEMO_CONFIG,
        osp.join(work, 'iter_2.pth'), '2', '--work-dir',
        str(tmp_path / 'test'), '--cfg-options', *tiny_cfg_options(synthetic_root, work)
    ],
              env=dict(env, PORT=str(int(port) + 1)))
    assert (res.stdout + res.stderr).count('FashionpediaMetric: evaluated 6 images') == 1


def test_unwritable_or_full_work_dir_fails_at_start(tmp_path, monkeypatch):
    res = run([
        sys.executable,
        osp.join(TOOLS, 'train.py'), DEMO_CONFIG, '--work-dir', '/etc/hostname/work'
    ],
              check=False)
    assert res.returncode == 2 and 'is not writable' in res.stderr
    assert 'Traceback' not in res.stderr
    import shutil
    from collections import namedtuple

    from fashionpedia_plugin.toolkit import launch
    usage = namedtuple('usage', 'total used free')
    monkeypatch.setattr(shutil, 'disk_usage', lambda p: usage(10**9, 10**9, 10 * 2**20))
    with pytest.raises(launch.CLIError, match='has only 10 MiB free'):
        launch.check_work_dir(str(tmp_path))
