"""Reliability: distributed CPU training, exact resume after SIGKILL, faults, bad CLI inputs."""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import DEMO_CONFIG, REPO, tiny_cfg_options

TOOLS = osp.join(REPO, 'tools')


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
    dict(type='LoadFashionpediaAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(320, 320), keep_ratio=True),
    dict(type='PackFashionpediaInputs'),
]))
custom_hooks = [dict(type='InvalidLossHook'), dict(type='RNGStateHook')]
"""


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
    assert 'Distributed training: True' in out and 'GPU number: 2' in out
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


@pytest.mark.slow
@pytest.mark.parametrize('rng_hook', [True, False])
def test_kill_and_resume_matches_uninterrupted_run(synthetic_root, tmp_path, rng_hook):
    body = DETERMINISTIC if rng_hook else DETERMINISTIC.replace(", dict(type='RNGStateHook')", '')
    cfg = derived_config(tmp_path, body)
    opts = tiny_cfg_options(synthetic_root, str(tmp_path), max_iters=6)
    opts = [o for o in opts if not o.startswith(('train_cfg.val_interval', 'default_hooks.ch'))]
    opts += [
        'train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=2',
        'default_hooks.checkpoint.max_keep_ckpts=10', 'default_hooks.checkpoint.save_best=None'
    ]
    full, killed = tmp_path / 'full', tmp_path / 'killed'
    run([
        sys.executable,
        osp.join(TOOLS, 'train.py'), cfg, '--work-dir',
        str(full), '--cfg-options', *opts
    ])
    proc = subprocess.Popen([
        sys.executable,
        osp.join(TOOLS, 'train.py'), cfg, '--work-dir',
        str(killed), '--cfg-options', *opts
    ],
                            cwd=REPO,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    last = killed / 'last_checkpoint'
    while time.time() < deadline and proc.poll() is None:
        if last.exists() and 'iter_' in last.read_text():
            break
        time.sleep(0.2)
    assert proc.poll() is None, 'training finished before it could be killed'
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    resumed_from = last.read_text().strip()
    assert not (killed / 'iter_6.pth').exists()
    res = run([
        sys.executable,
        osp.join(TOOLS, 'train.py'), cfg, '--work-dir',
        str(killed), '--resume', '--cfg-options', *opts
    ])
    assert 'resumed epoch: 0, iter: ' in res.stdout + res.stderr
    a = torch.load(full / 'iter_6.pth', map_location='cpu', weights_only=False)
    b = torch.load(killed / 'iter_6.pth', map_location='cpu', weights_only=False)
    assert a['meta']['iter'] == b['meta']['iter'] == 6, resumed_from
    worst = max(
        float((a['state_dict'][k].float() - b['state_dict'][k].float()).abs().max())
        for k in a['state_dict'])
    if not rng_hook:  # without the RNG states, RoI sampling after the resume differs
        assert worst > 1e-5, 'RNGStateHook would not be needed'
        return
    assert worst < 1e-5, f'resumed from {resumed_from}: max |diff| {worst}'
    lr_a = a['param_schedulers'][-1]['last_step']
    lr_b = b['param_schedulers'][-1]['last_step']
    assert lr_a == lr_b == 6


def test_nan_loss_stops_with_iteration(synthetic_root, tmp_path):
    cfg = derived_config(
        tmp_path, DETERMINISTIC + """
model = dict(roi_head=dict(bbox_head=dict(loss_attr=dict(loss_weight=float('nan')))))
""")
    res = run([
        sys.executable,
        osp.join(TOOLS, 'train.py'), cfg, '--work-dir',
        str(tmp_path), '--cfg-options', *tiny_cfg_options(synthetic_root, str(tmp_path))
    ],
              check=False)
    assert res.returncode == 2
    assert 'error: non-finite loss at iteration 1' in res.stderr and 'loss_attr=nan' in res.stderr
    assert 'Traceback' not in res.stderr


def _dataset_with_a_corrupt_image(synthetic_root, tmp_path, **kwargs):
    """A copy of the synthetic train set whose middle image is a broken JPEG."""
    import shutil

    from fashionpedia_plugin.datasets import FashionpediaDataset
    root = tmp_path / 'ds'
    shutil.copytree(synthetic_root, root)
    ann = json.loads((root / 'annotations' / 'instances_attributes_train2020.json').read_text())
    bad = ann['images'][len(ann['images']) // 2]['file_name']
    (root / 'train' / bad).write_bytes(b'\xff\xd8 broken jpeg')
    ds = FashionpediaDataset(
        data_root=str(root) + '/',
        ann_file='annotations/instances_attributes_train2020.json',
        data_prefix=dict(img='train/'),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='PackFashionpediaInputs')],
        **kwargs)
    return ds, root, bad


def test_corrupt_image_fails_fast_by_name(synthetic_root, tmp_path):
    from fashionpedia_plugin.datasets import FashionpediaDataError
    ds, _, bad = _dataset_with_a_corrupt_image(synthetic_root, tmp_path)
    with pytest.raises(FashionpediaDataError, match=bad):
        for i in range(len(ds)):
            ds[i]


def test_corrupt_image_skipped_and_counted(synthetic_root, tmp_path):
    ds, root, bad = _dataset_with_a_corrupt_image(synthetic_root, tmp_path, skip_bad_images=True)
    samples = [ds[i] for i in range(len(ds))]
    assert all(s is not None for s in samples)
    assert list(ds.bad_images) == [str(root / 'train' / bad)]


def test_evaluation_without_predictions_returns_zeros(synthetic_root):
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    from fashionpedia_plugin.datasets import taxonomy
    from fashionpedia_plugin.evaluation import FashionpediaMetric
    ann = osp.join(synthetic_root, 'annotations', 'instances_attributes_val2020.json')
    metric = FashionpediaMetric(ann_file=ann, metric=['bbox', 'segm'])
    metric.dataset_meta = dict(classes=taxonomy.CLASSES)
    samples = []
    for img in json.load(open(ann))['images']:
        s = DetDataSample(metainfo=dict(img_id=img['id'], ori_shape=(320, 320)))
        pred = InstanceData()
        pred.bboxes = torch.zeros((0, 4))
        pred.scores = torch.zeros(0)
        pred.labels = torch.zeros(0, dtype=torch.long)
        pred.masks = torch.zeros((0, 320, 320), dtype=torch.bool)
        s.pred_instances = pred
        samples.append(s.to_dict())
    metric.process({}, samples)
    res = metric.evaluate(len(samples))
    assert res['fashionpedia/segm_mAP'] == 0.0 and res['fashionpedia/bbox_mAP'] == 0.0
    assert res['fashionpedia/segm_iouf1_AP'] == 0.0


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

    from fashionpedia_plugin.engine import launch
    usage = namedtuple('usage', 'total used free')
    monkeypatch.setattr(shutil, 'disk_usage', lambda p: usage(10**9, 10**9, 10 * 2**20))
    with pytest.raises(launch.CLIError, match='has only 10 MiB free'):
        launch.check_work_dir(str(tmp_path))


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


CLI_CASES = {
    'train-missing-config': (['train.py', '/nope.py'], 'config file not found'),
    'train-not-python': (['train.py', '{json}'], 'must be a Python config'),
    'train-missing-resume':
    (['train.py', DEMO_CONFIG, '--work-dir', '{tmp}', '--resume',
      '/nope.pth'], 'checkpoint to resume from not found'),
    'test-missing-ckpt': (['test.py', DEMO_CONFIG, '/nope.pth'], 'checkpoint not found'),
    'test-bad-out': (['test.py', DEMO_CONFIG, __file__, '--out',
                      'x.txt'], '--out must end with .json or .pkl'),
    'doctor-missing': (['analysis_tools/data_doctor.py', '/nope.json',
                        '/tmp'], 'annotation file not found'),
    'doctor-empty': (['analysis_tools/data_doctor.py', '{empty}',
                      '/tmp'], "missing top-level key(s) ['images', 'annotations', 'categories']"),
    'eval-missing': (['analysis_tools/fashionpedia_eval.py', '/nope.json',
                      '/nope2.json'], 'annotation file not found'),
    'eval-empty-results': (['analysis_tools/fashionpedia_eval.py', '{ann}',
                            '{emptylist}'], 'no results to evaluate'),
    'eval-wrong-format': (['analysis_tools/fashionpedia_eval.py', '{ann}',
                           '{json}'], 'expected a JSON list of results'),
    'analyze-missing': (['analysis_tools/analyze_logs.py', '/nope'], 'not found'),
    'analyze-garbage': (['analysis_tools/analyze_logs.py', '{garbage}'], 'not a JSON line'),
    'diff-missing': (['analysis_tools/config_diff.py', DEMO_CONFIG,
                      '/nope.py'], 'config file not found'),
    'infer-missing': (['infer.py', '/nope/*.jpg', DEMO_CONFIG, __file__], 'no images found'),
}


@pytest.mark.parametrize('case', sorted(CLI_CASES))
def test_cli_bad_inputs_one_line_error(case, tmp_path, synthetic_root):
    args, needle = CLI_CASES[case]
    subs = {
        '{tmp}': str(tmp_path),
        '{json}': _write(tmp_path, 'c.json', '{"a": 1}'),
        '{empty}': _write(tmp_path, 'e.json', '{}'),
        '{emptylist}': _write(tmp_path, 'l.json', '[]'),
        '{garbage}': _write(tmp_path, 'scalars.json', 'this is not json\n'),
        '{ann}': osp.join(synthetic_root, 'annotations', 'instances_attributes_val2020.json'),
    }
    args = [subs.get(a, a) for a in args]
    res = run([sys.executable, osp.join(TOOLS, args[0]), *args[1:]], check=False)
    assert res.returncode != 0
    assert needle in res.stderr, res.stderr[-2000:]
    assert 'Traceback' not in res.stderr
    assert len([ln for ln in res.stderr.splitlines() if ln.startswith('error:')]) == 1
