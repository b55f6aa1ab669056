"""tools/train.py and tools/test.py (toolkit/launch.py): CPU runs, the official results format,
distributed CPU runs, work_dir checks."""
import glob
import json
import os
import os.path as osp
import sys

import numpy as np
import pytest
from conftest import DEMO_CONFIG, TOOLS, derived_config, free_port, run, run_tool, tiny_cfg_options


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


PROBE = """
custom_imports = dict(imports=['fashionpedia_plugin', 'dist_probe_hook'],
                      allow_failed_imports=False)
custom_hooks = [dict(type='ValLossHook'), dict(type='InvalidLossHook'),
                dict(type='RNGStateHook'), dict(type='DistProbeHook')]
"""


def _two_nodes(script, args, port, work, args_node1=None, returncode=0):
    """Two launches of ``tools/SCRIPT`` as two "nodes" on 127.0.0.1 (NNODES=2, NODE_RANK 0/1,
    one process each, gloo), as on two machines; both must exit with ``returncode``. Node 1
    gets ``args_node1`` if given (e.g. its own, node-local, work dir)."""
    import subprocess
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        PORT=port,
        OMP_NUM_THREADS='1',
        NNODES='2',
        MASTER_ADDR='127.0.0.1',
        PYTHONPATH=osp.join(osp.dirname(__file__), 'helpers') + os.pathsep +
        os.environ.get('PYTHONPATH', ''))
    procs = [
        subprocess.Popen(
            ['bash', osp.join(TOOLS, script), *(args_node1 or args if rank else args)],
            cwd=osp.dirname(TOOLS),
            env=dict(env, NODE_RANK=str(rank)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True) for rank in (0, 1)
    ]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    for rank, (p, out) in enumerate(zip(procs, outs)):
        assert p.returncode == returncode, f'node {rank}:\n{out[-4000:]}'
    return outs


@pytest.mark.slow
def test_two_nodes_train_test_and_resume_on_one_process(synthetic_root, tmp_path):
    """dist_train.sh / dist_test.sh with NNODES=2: both ranks finish, train on disjoint images
    and end with identical weights; metrics are gathered once. Then the 2-process checkpoint
    resumes on 1 process: refused on another total batch, accepted on the same one (RNG states
    restored for rank 0, the line says what was not)."""
    cfg = derived_config(tmp_path, PROBE)
    work = str(tmp_path / 'dist')
    # 2 processes x 2 = 4 = the demo's reference batch: the schedule is kept (factor 1)
    opts = [*tiny_cfg_options(synthetic_root, work), 'auto_scale_schedule.enable=True']
    port = str(free_port())
    outs = _two_nodes('dist_train.sh', [cfg, '1', '--work-dir', work, '--cfg-options', *opts], port,
                      work)
    assert 'distributed training: True, processes: 2' in outs[0]
    assert 'total batch 4 (2 processes x 2) = the config\'s reference batch' in outs[0]
    # metrics gathered once over the 6 val images, no duplicates (checked in the metric)
    assert outs[0].count('FashionpediaMetric: evaluated 6 images') == 1
    probes = [json.load(open(osp.join(work, f'probe_rank{r}.json'))) for r in (0, 1)]
    assert [p['world_size'] for p in probes] == [2, 2] and [p['iter'] for p in probes] == [2, 2]
    assert len(probes[0]['img_ids']) == len(probes[1]['img_ids']) == 4  # 2 iterations x 2
    assert not set(probes[0]['img_ids']) & set(probes[1]['img_ids'])
    assert probes[0]['params_sha256'] == probes[1]['params_sha256']
    ckpt = osp.join(work, 'iter_2.pth')
    import torch
    saved = torch.load(ckpt, map_location='cpu', weights_only=False)
    assert saved['rng_state']['world_size'] == 2 and len(saved['rng_state']['ranks']) == 2
    assert saved['meta']['fashionpedia']['schedule']['total_batch'] == 4

    outs = _two_nodes('dist_test.sh', [
        cfg, ckpt, '1', '--work-dir',
        str(tmp_path / 'test'), '--cfg-options', *tiny_cfg_options(synthetic_root, work)
    ], str(int(port) + 1), work)
    assert outs[0].count('FashionpediaMetric: evaluated 6 images') == 1

    # resume on 1 process: batch 2 -> total 2 != 4: one line, before any iteration
    resume = [
        sys.executable,
        osp.join(TOOLS, 'train.py'), cfg, '--work-dir', work, '--resume', ckpt, '--cfg-options',
        *[o for o in opts if not o.startswith('train_cfg.max_iters')], 'train_cfg.max_iters=3'
    ]
    helpers = dict(PYTHONPATH=osp.join(osp.dirname(__file__), 'helpers'))
    res = run(resume, check=False, env=helpers)
    assert res.returncode == 2, res.stderr[-3000:]
    err = res.stderr.strip().splitlines()[-1]
    assert err.startswith('error: cannot resume: the checkpoint was trained at total batch 4 '
                          '(2 processes x 2), this run has 2 (1 process x 2)'), err
    assert err.endswith('Keep the total batch (--cfg-options train_dataloader.batch_size=4), '
                        'or resume on 2 processes'), err
    # same total batch on 1 process: resumes, says what it could not restore
    res = run(resume + ['train_dataloader.batch_size=4'], env=helpers)
    log = res.stdout + res.stderr
    assert 'resumed epoch: 0, iter: 2' in log
    assert 'RNG states: saved for 2 of 2 processes, resumed on 1: ranks 0-0 restored; the ' \
        'states of saved ranks 1-1 are not used' in log
    assert osp.isfile(osp.join(work, 'iter_3.pth'))

    # back on two nodes, bare --resume: both continue from iteration 3 (the ranks' start is
    # compared before the first iteration)
    again = [
        cfg, '1', '--resume', '--cfg-options', *[o for o in opts if 'max_iters' not in o],
        'train_cfg.max_iters=4'
    ]
    outs = _two_nodes('dist_train.sh', again[:1] + ['1', '--work-dir', work] + again[2:],
                      str(int(port) + 2), work)
    assert 'resumed epoch: 0, iter: 3' in outs[0] and osp.isfile(osp.join(work, 'iter_4.pth'))
    # node-local work dirs, only node 0's holding the checkpoint: node 1 would start from 0
    local = str(tmp_path / 'node1_local')
    outs = _two_nodes(
        'dist_train.sh',
        again[:1] + ['1', '--work-dir', work] + again[2:] + ['train_cfg.max_iters=5'],
        str(int(port) + 3),
        work,
        args_node1=again[:1] + ['1', '--work-dir', local] + again[2:] + ['train_cfg.max_iters=5'],
        returncode=2)
    for out in outs:
        assert out.strip().splitlines()[-1].startswith(
            'error: cannot resume: the ranks start from different iterations (rank 0: 4, rank '
            '1: 0)'), out[-3000:]
    assert not osp.isfile(osp.join(work, 'iter_5.pth'))


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


def test_best_checkpoint_on_its_own_split_warns(trained, synthetic_root, tmp_path, capsys):
    """The trained fixture validated on the val split and saved best_*.pth: testing that file
    on the same split says, in one line, that the number is biased; the final one does not."""
    import torch

    from fashionpedia_plugin.toolkit.cli import load_config
    from fashionpedia_plugin.toolkit.launch import selection_warning
    work, _ = trained
    cfg = load_config(DEMO_CONFIG, None)
    ann = osp.join(synthetic_root, 'annotations', 'instances_attributes_val2020.json')
    cfg.test_evaluator.ann_file = ann
    best = osp.join(work, 'best_fashionpedia_segm_mAP_iter_2.pth')
    ckpt = torch.load(best, map_location='cpu', weights_only=True)
    assert ckpt['meta']['fashionpedia']['selected_on'] == ann
    msg = selection_warning(best, ckpt, cfg)
    assert msg.startswith('warning: best_fashionpedia_segm_mAP_iter_2.pth was selected on ')
    assert 'biased upwards' in msg
    assert selection_warning(osp.join(work, 'iter_2.pth'), ckpt, cfg) is None
    cfg.test_evaluator.ann_file = ann.replace('val2020', 'test2020')
    assert selection_warning(best, ckpt, cfg) is None


@pytest.mark.parametrize('launcher, env, nodes', [
    ('pytorch', dict(WORLD_SIZE='16', LOCAL_WORLD_SIZE='8'), 2),
    ('pytorch', dict(WORLD_SIZE='8', LOCAL_WORLD_SIZE='8'), 1),
    ('slurm', dict(SLURM_NNODES='4', SLURM_NTASKS='32'), 4),
    ('mpi', dict(OMPI_COMM_WORLD_SIZE='16', OMPI_COMM_WORLD_LOCAL_SIZE='8'), 2),
    ('none', dict(WORLD_SIZE='16', LOCAL_WORLD_SIZE='8'), 1),
])
def test_results_are_gathered_without_a_shared_folder_on_several_nodes(
        launcher, env, nodes, monkeypatch):
    """mmengine's default collect_device 'cpu' needs a folder every node shares (rank 0 reads
    the others' pickles from it): on two nodes with their own disks the first validation
    stopped. On several nodes the evaluators gather through the process group instead."""
    from mmengine.config import Config

    from fashionpedia_plugin.toolkit.launch import gather_results_in_memory
    from fashionpedia_plugin.toolkit.schedule_scaling import nodes_from_env
    for k in ('WORLD_SIZE', 'LOCAL_WORLD_SIZE', 'SLURM_NNODES', 'SLURM_JOB_NUM_NODES',
              'OMPI_COMM_WORLD_SIZE', 'OMPI_COMM_WORLD_LOCAL_SIZE'):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert nodes_from_env(launcher) == nodes
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.test_evaluator = [
        dict(cfg.val_evaluator),
        dict(type='DumpDetResults', collect_device='cpu')
    ]
    note = gather_results_in_memory(cfg, nodes)
    if nodes == 1:
        assert note is None and 'collect_device' not in cfg.val_evaluator
        return
    assert cfg.val_evaluator.collect_device == 'gpu'
    assert cfg.test_evaluator[0]['collect_device'] == 'gpu'
    assert cfg.test_evaluator[1]['collect_device'] == 'cpu'  # set by the user: kept
    assert note.startswith(f'{nodes} nodes: val_evaluator.FashionpediaMetric, '
                           'test_evaluator.FashionpediaMetric gather results')


def test_mpi_ranks_get_their_node_local_gpu(monkeypatch):
    from fashionpedia_plugin.toolkit.launch import local_rank
    monkeypatch.setenv('OMPI_COMM_WORLD_LOCAL_RANK', '3')
    assert local_rank('mpi') == '3'
    assert local_rank('pytorch', 0) == '0'  # torchrun sets LOCAL_RANK itself
    monkeypatch.delenv('OMPI_COMM_WORLD_LOCAL_RANK')
    assert local_rank('mpi', 0) == '0'
