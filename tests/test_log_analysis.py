"""analyze_logs (toolkit/log_analysis.py): curves, summaries, trend warnings."""
import json
import os.path as osp

import numpy as np
import pytest
from conftest import TOOLS, tool


def write_run(root,
              name,
              n_iters=1000,
              val_every=100,
              peak_at=500,
              nan_at=None,
              stamp=None,
              ap_shift=0.0,
              config=None):
    """A synthetic iteration-based mmengine run: scalars.json with train and val lines, val
    lines written with step=0 as mmengine's LoggerHook does by default for iteration runs;
    ``config``: the text of its dumped vis_data/config.py."""
    d = root / name / (stamp or '20260101_000000') / 'vis_data'
    d.mkdir(parents=True)
    if config is not None:
        (d / 'config.py').write_text(config)
    lines = []
    for it in range(50, n_iters + 1, 50):
        loss = 3.0 * np.exp(-it / 400) + 0.5
        if nan_at is not None and it >= nan_at:
            loss = float('nan')
        lines.append(
            dict(
                lr=0.02,
                loss=loss,
                loss_attr=loss / 3,
                time=0.5,
                data_time=0.01,
                memory=1000 + it,
                iter=it,
                step=it))
        if it % val_every == 0:
            ap = 0.4 - abs(it - peak_at) / 2000 + ap_shift
            lines.append({
                'fashionpedia/segm_mAP': ap,
                'fashionpedia/segm_iouf1_AP': ap * 0.7,
                'val_loss': 1 + abs(it - peak_at) / 1000,
                'step': 0
            })
    with open(d / 'scalars.json', 'w') as f:
        for line in lines:
            f.write(json.dumps(line) + '\n')
    return root / name


def test_analyze_logs_many_runs_curves_summary_and_warnings(tmp_path):
    a = write_run(tmp_path, 'run_a', peak_at=500)  # AP falls for 5 evaluations after 500
    b = write_run(tmp_path, 'run_b', peak_at=1000)
    c = write_run(tmp_path, 'run_c', nan_at=600)
    # output folders that do not exist yet are created
    png, md = tmp_path / 'out' / 'curves.png', tmp_path / 'out' / 'summary.md'
    res = tool(
        osp.join(TOOLS, 'analysis_tools', 'analyze_logs.py'), a, b, c, '--out', png, '--summary',
        md, '--keys', 'loss', 'lr', 'val_loss', 'segm_mAP', 'segm_iouf1_AP')
    assert png.stat().st_size > 10_000
    table = md.read_text().splitlines()
    assert len(table) == 2 + 3  # header, rule, one row per run
    assert table[0] == ('| run | iters | time (min) | peak MB | loss final | lr final | '
                        'val_loss best | val_loss last | segm_mAP best | segm_mAP last | '
                        'segm_iouf1_AP best | segm_iouf1_AP last |')
    # iteration-based: validations land at their iterations, not at "epoch 0"
    assert '| run_a | 1000 |' in table[2] and '0.4000 @500' in table[2]
    assert '0.4000 @1000' in table[3]
    assert 'run_a: fashionpedia/segm_mAP fell for 3 consecutive evaluations' in res.stderr
    assert 'run_b: fashionpedia/segm_mAP fell' not in res.stderr
    assert 'run_c: loss is NaN/inf at 600' in res.stderr
    csv = tmp_path / 's.csv'
    res = tool(osp.join(TOOLS, 'analysis_tools', 'analyze_logs.py'), a, '--summary', csv)
    # default columns: the headline metrics
    assert csv.read_text().splitlines()[0] == (
        'run,iters,time (min),peak MB,loss final,segm_mAP best,segm_mAP last,'
        'segm_iouf1_AP best,segm_iouf1_AP last')
    assert res.stdout.splitlines()[0].startswith('| run | iters |')
    tool(osp.join(TOOLS, 'analysis_tools', 'analyze_logs.py'), a, '--summary', csv, '--summary-all')
    header = csv.read_text().splitlines()[0].split(',')
    assert 'val_loss best' in header and len(header) == 4 + 2 * 3


def test_analyze_logs_text_log_fallback(tmp_path):
    d = tmp_path / 'r' / '20260101_000000'
    d.mkdir(parents=True)
    (d / '20260101_000000.log').write_text(
        '2026/01/01 00:00:01 - mmengine - INFO - Iter(train) [ 20/400]  lr: 2.0000e-02  '
        'eta: 0:01:00  time: 1.5000  data_time: 0.0200  loss: 3.5000  loss_attr: 1.2000\n'
        '2026/01/01 00:00:02 - mmengine - INFO - Iter(train) [ 40/400]  lr: 2.0000e-02  '
        'eta: 0:01:00  time: 1.5000  data_time: 0.0200  loss: 2.5000  loss_attr: 1.0000\n'
        '2026/01/01 00:00:03 - mmengine - INFO - Iter(val) [30/30]    fashionpedia/segm_mAP: '
        '0.2500  data_time: 0.0100  time: 0.3000\n')
    res = tool(osp.join(TOOLS, 'analysis_tools', 'analyze_logs.py'), tmp_path / 'r', '--json')
    row = json.loads(res.stdout)[0]
    assert row['iterations'] == 40 and row['train_time_s'] == 60.0
    assert row['metrics']['fashionpedia/segm_mAP'] == dict(best=0.25, best_at=40, last=0.25)


def _scalars(root, stamp, lines):
    d = root / stamp / 'vis_data'
    d.mkdir(parents=True)
    (d / 'scalars.json').write_text(''.join(json.dumps(x) + '\n' for x in lines))


def test_work_dir_joins_resumed_runs_and_passes_over_test_runs(tmp_path):
    """A run killed at 600 after its checkpoint at 500, its --resume (550 .. 1000) and a
    tools/test.py run in the same work_dir (the default one): one curve of 50 .. 1000, each
    iteration once, the resumed segment's values from 550 on; the test run is passed over."""
    from fashionpedia_plugin.toolkit.log_analysis import load_run
    from fashionpedia_plugin.toolkit.run_configs import find_run_config
    wd = tmp_path / 'attr-mask-rcnn_demo'

    def train(its, loss, val_at):
        out = []
        for it in its:
            out.append(dict(lr=0.02, loss=loss, iter=it, step=it))
            if it in val_at:
                out.append({'fashionpedia/segm_mAP': it / 1e4, 'step': 0})
        return out

    _scalars(wd, '20260101_000000', train(range(50, 601, 50), 2.0, (200, 400, 600)))
    _scalars(wd, '20260101_010000', train(range(550, 1001, 50), 1.0, (600, 800, 1000)))
    _scalars(wd, '20260101_020000', [{'fashionpedia/segm_mAP': 0.5, 'step': 0}])
    for stamp in ('20260101_000000', '20260101_010000', '20260101_020000'):
        (wd / stamp / 'vis_data' / 'config.py').write_text(f'stamp = {stamp!r}\n')
    run = load_run(str(wd))
    xs, ys, kind = run.series('loss')
    assert kind == 'train' and xs.tolist() == list(range(50, 1001, 50))
    assert ys.tolist() == [2.0] * 10 + [1.0] * 10  # 550 and 600 from the resumed segment
    vx, vy, _ = run.series('segm_mAP')
    assert vx.tolist() == [200, 400, 600, 800, 1000
                           ] and vy.tolist() == [0.02, 0.04, 0.06, 0.08, 0.1]
    assert '2 training run(s) joined, 1 test-only run(s) passed over' in run.source
    assert run.name == 'attr-mask-rcnn_demo'
    # the config of a work_dir is its newest training run's, not the test run's
    assert find_run_config(str(wd)).endswith(osp.join('20260101_010000', 'vis_data', 'config.py'))
    # a work_dir with only a test run says so
    _scalars(tmp_path / 'only_test', '20260101_000000', [{'coco/segm_mAP': 0.1, 'step': 0}])
    with pytest.raises(ValueError, match='none of its 1 runs logged a training value'):
        load_run(str(tmp_path / 'only_test'))


DUMPED = """optim_wrapper = dict(optimizer=dict(type='SGD', lr={lr}, momentum=0.9))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1000, val_interval=100)
randomness = dict(seed={seed})
work_dir = './work_dirs/{name}'
model = dict(type='MaskRCNN', roi_head=dict(num_classes=46, thr=-1.5, sizes=(1, 2)))
"""


def test_seeds_of_one_config_are_grouped_with_mean_std_and_band(tmp_path):
    runs = [
        write_run(
            tmp_path,
            f'seed{k}',
            ap_shift=0.01 * k,
            config=DUMPED.format(lr=0.02, seed=k, name=f'seed{k}')) for k in range(3)
    ]
    runs.append(write_run(tmp_path, 'lr01', config=DUMPED.format(lr=0.01, seed=0, name='lr01')))
    png, md = tmp_path / 'curves.png', tmp_path / 'summary.md'
    res = tool(
        osp.join(TOOLS, 'analysis_tools', 'analyze_logs.py'), *runs, '--out', png, '--summary', md,
        '--keys', 'loss', 'segm_mAP')
    text = md.read_text()
    assert '| seed0 +2 | 3 | ' in text and '| lr01 | 1 | ' in text
    # best segm_mAP 0.40, 0.41, 0.42 over the three seeds
    assert '0.4100 +- 0.0100 (n=3)' in text
    assert 'seeds of one config' in res.stdout
    assert png.stat().st_size > 10_000
    res = tool(osp.join(TOOLS, 'analysis_tools', 'analyze_logs.py'), *runs, '--no-group')
    assert 'seeds of one config' not in res.stdout


def test_dumped_config_is_read_without_running_it(tmp_path):
    from fashionpedia_plugin.toolkit.run_configs import DumpedConfigError, read_dumped_config
    ok = tmp_path / 'ok.py'
    ok.write_text(DUMPED.format(lr=0.02, seed=1, name='x'))
    cfg = read_dumped_config(ok)
    assert cfg['optim_wrapper']['optimizer']['lr'] == 0.02
    assert cfg['model']['roi_head']['thr'] == -1.5 and cfg['model']['roi_head']['sizes'] == (1, 2)
    evil = tmp_path / 'evil.py'
    marker = tmp_path / 'PWNED'
    evil.write_text(f"x = __import__('os').system('touch {marker}')\n")
    with pytest.raises(DumpedConfigError, match='evil.py:1: Call is not part of a dumped config'):
        read_dumped_config(evil)
    assert not marker.exists()
    a = write_run(tmp_path, 'a', config=evil.read_text())
    b = write_run(tmp_path, 'b', config=evil.read_text())
    res = tool(osp.join(TOOLS, 'analysis_tools', 'analyze_logs.py'), a, b)
    assert 'not grouped' in res.stderr and not marker.exists()


def test_smoothing_is_centred():
    from fashionpedia_plugin.toolkit.log_analysis import smooth
    ramp = np.arange(10.0)
    assert np.allclose(smooth(ramp, 5)[2:8], ramp[2:8])  # no lag on a trend
    assert np.allclose(smooth(np.array([0, 0, 9.0, 0, 0]), 3), [0, 3, 3, 3, 0])


def test_iters_column_is_the_last_iteration_a_validation_logged_after_the_last_train_line(tmp_path):
    """520 iterations logged every 50: train lines end at 500, the final validation is logged
    at 520 (log_metric_by_epoch=False); the run did 520 iterations."""
    from fashionpedia_plugin.toolkit.log_analysis import load_run, summarize
    d = tmp_path / 'demo' / '20260101_000000' / 'vis_data'
    d.mkdir(parents=True)
    lines = [dict(lr=0.02, loss=1.0, time=0.5, iter=it, step=it) for it in range(50, 501, 50)]
    lines.append({'fashionpedia/segm_mAP': 0.3, 'step': 520})
    (d / 'scalars.json').write_text(''.join(json.dumps(x) + '\n' for x in lines))
    row = summarize(load_run(str(tmp_path / 'demo')))
    assert row['iterations'] == 520
    assert row['metrics']['fashionpedia/segm_mAP']['best_at'] == 520


def test_a_misspelt_key_is_an_error_with_the_close_matches(tmp_path):
    """``--keys los`` dropped its column and panel without a word; now one line, exit 2."""
    from conftest import tool_in_process
    run = write_run(tmp_path, 'a')
    script = osp.join(TOOLS, 'analysis_tools', 'analyze_logs.py')
    res = tool_in_process(script, run, '--keys', 'los', 'segm_mAP', 'segm_mAp')
    assert res.returncode == 2 and res.stdout == ''
    err = res.stderr.strip().splitlines()[-1]
    assert err == ('error: --keys los (did you mean loss?), segm_mAp (did you mean segm_mAP?): '
                   'logged by none of the runs; logged: data_time fashionpedia/segm_iouf1_AP '
                   'fashionpedia/segm_mAP loss loss_attr lr memory time val_loss'), err
    # a key logged by one run of two is a column, empty for the other, and a warning says so
    other = tmp_path / 'b' / '20260101_000000' / 'vis_data'
    other.mkdir(parents=True)
    (other / 'scalars.json').write_text(
        json.dumps(dict(lr=0.02, loss=1.0, time=0.5, iter=50, step=50)) + '\n' +
        json.dumps({
            'fashionpedia/segm_mAP': 0.3,
            'step': 50
        }) + '\n')
    res = tool_in_process(script, run, tmp_path / 'b', '--keys', 'loss', 'loss_attr', 'segm_mAP',
                          '--no-group')
    assert res.returncode == 0, res.stderr
    said = [ln for ln in res.stderr.splitlines() if '--keys' in ln]  # (+ a's trend warnings)
    assert said == ['WARNING: --keys loss_attr: not logged by b (empty there)'], res.stderr
    assert 'loss_attr' in res.stdout


def test_a_run_shorter_than_its_logging_interval_is_a_training_run(tmp_path):
    """2 iterations logged every 50: no train line, one validation at 2; its work dir was
    "none of its runs logged a training value". A test run beside it stays passed over."""
    from fashionpedia_plugin.toolkit.log_analysis import load_run, summarize
    wd = tmp_path / 'short'
    _scalars(wd, '20260101_000000', [{'fashionpedia/segm_mAP': 0.01, 'step': 2}])
    (wd / '20260101_000000' / '20260101_000000.log').write_text(
        '12/01 00:00:09 - mmengine - INFO - Iter(val) [6/6]    fashionpedia/segm_mAP: 0.0100\n')
    _scalars(wd, '20260101_010000', [{'fashionpedia/segm_mAP': 0.5, 'step': 0}])
    (wd / '20260101_010000' / '20260101_010000.log').write_text(
        '12/01 01:00:09 - mmengine - INFO - Iter(test) [6/6]    fashionpedia/segm_mAP: 0.5000\n')
    run = load_run(str(wd))
    assert '1 training run(s) joined, 1 test-only run(s) passed over' in run.source
    row = summarize(run)
    assert row['iterations'] == 2 and row['metrics']['fashionpedia/segm_mAP']['last'] == 0.01
