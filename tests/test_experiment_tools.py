"""analyze_logs, config_diff, infer and the validation-loss hook."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from conftest import DEMO_CONFIG, REPO

TOOLS = osp.join(REPO, 'tools')


def tool(*args, check=True):
    res = subprocess.run([sys.executable, *map(str, args)],
                         cwd=REPO,
                         capture_output=True,
                         text=True,
                         timeout=600)
    if check:
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res


def write_run(root, name, n_iters=1000, val_every=100, peak_at=500, nan_at=None, stamp=None):
    """A synthetic iteration-based mmengine run: scalars.json with train and val lines, val
    lines written with step=0 as mmengine's LoggerHook does by default for iteration runs."""
    d = root / name / (stamp or '20260101_000000') / 'vis_data'
    d.mkdir(parents=True)
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
            ap = 0.4 - abs(it - peak_at) / 2000
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
    png, md = tmp_path / 'curves.png', tmp_path / 'summary.md'
    res = tool(
        osp.join(TOOLS, 'analysis_tools', 'analyze_logs.py'), a, b, c, '--out', png, '--summary',
        md, '--keys', 'loss', 'lr', 'val_loss', 'segm_mAP', 'segm_iouf1_AP')
    assert png.stat().st_size > 10_000
    table = md.read_text()
    assert '| run_a | 1000 |' in table and '| run_b |' in table
    # iteration-based: validations land at their iterations, not at "epoch 0"
    assert '0.4000 | 500 |' in table and '0.4000 | 1000 |' in table
    assert 'run_a: fashionpedia/segm_mAP fell for 3 consecutive evaluations' in res.stderr
    assert 'run_b: fashionpedia/segm_mAP fell' not in res.stderr
    assert 'run_c: loss is NaN/inf at 600' in res.stderr
    csv = tmp_path / 's.csv'
    tool(osp.join(TOOLS, 'analysis_tools', 'analyze_logs.py'), a, '--summary', csv)
    assert csv.read_text().startswith('run,iters,train time (min),peak mem (MB)')


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


def test_config_diff_table_json_and_recipe():
    seed = osp.join(REPO, 'configs', 'mask-rcnn', 'mask-rcnn_r50_fpn_seed-240k_fashionpedia.py')
    plain = osp.join(REPO, 'configs', 'mask-rcnn', 'mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py')
    res = tool(
        osp.join(TOOLS, 'analysis_tools', 'config_diff.py'), plain, seed, '--json', '--cfg-options',
        'work_dir=/x')
    diff = {d['key']: d for d in json.loads(res.stdout)['differences']}
    assert diff['optim_wrapper.optimizer.lr']['values'] == [0.02, 0.0001]
    assert diff['train_cfg.max_iters']['values'] == [90000, 240000]
    assert diff['model.backbone.frozen_stages']['values'] == [1, 4]
    assert not any(k.startswith('work_dir') for k in diff)
    res = tool(
        osp.join(TOOLS, 'analysis_tools', 'config_diff.py'),
        seed,
        '--recipe',
        '--fail-on-deviation',
        check=False)
    assert res.returncode == 1
    for what in ('learning rate per image', 'schedule length', 'lr steps', 'RoIs sampled',
                 'frozen backbone stages', 'scale jitter', 'input size', 'attribute branch'):
        assert f'DEVIATION {what}' in res.stdout, what
    recipe = osp.join(REPO, 'configs', 'attr-mask-rcnn',
                      'attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py')
    res = tool(
        osp.join(TOOLS, 'analysis_tools', 'config_diff.py'), recipe, '--recipe', '--gpus', '8')
    assert '0 deviation(s)' in res.stdout


def test_val_loss_hook_logs_losses(tmp_path, synthetic_root):
    from conftest import tiny_cfg_options

    from fashionpedia_plugin.engine.launch import build_train_runner
    runner = build_train_runner([
        DEMO_CONFIG, '--work-dir',
        str(tmp_path), '--cfg-options', *tiny_cfg_options(synthetic_root, str(tmp_path))
    ])
    runner.train()
    hub = runner.message_hub
    for key in ('val/val_loss', 'val/val_loss_attr', 'val/val_loss_mask', 'val/val_loss_cls'):
        assert key in hub.log_scalars, key
        assert np.isfinite(hub.get_scalar(key).current())


@pytest.fixture(scope='module')
def tiny_checkpoint(synthetic_root, tmp_path_factory):
    from conftest import tiny_cfg_options
    work = str(tmp_path_factory.mktemp('ckpt'))
    tool(
        osp.join(TOOLS, 'train.py'), DEMO_CONFIG, '--work-dir', work, '--cfg-options',
        *tiny_cfg_options(synthetic_root, work))
    return osp.join(work, 'iter_2.pth')


def test_infer_writes_masks_cutouts_and_json(tiny_checkpoint, synthetic_root, tmp_path):
    import cv2
    out = tmp_path / 'out'
    pattern = osp.join(synthetic_root, 'test', '*.jpg')
    res = tool(
        osp.join(TOOLS, 'infer.py'), pattern, DEMO_CONFIG, tiny_checkpoint, '--out-dir', out,
        '--score-thr', '0', '--classes', 'garments', 'sleeve', '--cfg-options',
        'model.test_cfg.rcnn.score_thr=0')  # an untrained model scores ~1/47
    assert '6 image(s)' in res.stdout
    recs = [json.load(open(p)) for p in sorted(out.glob('*/*.json'))]
    assert len(recs) == 6
    allowed = set(range(13)) | {31}
    n = 0
    for rec in recs:
        d = out / osp.splitext(osp.basename(rec['image']))[0]
        assert (d / 'overlay.png').exists()
        for inst in rec['instances']:
            n += 1
            assert inst['class_id'] in allowed and 'attributes' in inst
            mask = cv2.imread(str(d / inst['mask_file']), cv2.IMREAD_UNCHANGED)
            assert mask.shape == (rec['height'], rec['width'])
            assert int((mask > 0).sum()) == inst['mask_area']
            if inst['cutout_file']:
                cut = cv2.imread(str(d / inst['cutout_file']), cv2.IMREAD_UNCHANGED)
                assert cut.shape[2] == 4 and int((cut[..., 3] > 0).sum()) == inst['mask_area']
    assert n > 0


@pytest.mark.parametrize('args,needle', [
    (['/no/such/dir', DEMO_CONFIG, '/no.pth'], 'checkpoint not found'),
    (['/no/such/dir/*.jpg', DEMO_CONFIG, __file__], 'no images found'),
    (['x.jpg', DEMO_CONFIG, __file__, '--classes', 'tuxedo'], "unknown class 'tuxedo'"),
])
def test_infer_bad_inputs(args, needle):
    res = tool(osp.join(TOOLS, 'infer.py'), *args, check=False)
    assert res.returncode == 2 and needle in res.stderr and 'Traceback' not in res.stderr


def test_val_loss_ground_truth_moves_to_the_input_frame():
    """Test pipelines load annotations after Resize (original frame); losses need the resized
    frame: boxes scale with scale_factor, masks take img_shape."""
    import torch
    from mmdet.structures import DetDataSample
    from mmdet.structures.bbox import HorizontalBoxes
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData

    from fashionpedia_plugin.engine.hooks.val_loss_hook import ValLossHook
    s = DetDataSample(
        metainfo=dict(scale_factor=(0.5, 0.25), img_shape=(100, 200), ori_shape=(400, 400)))
    gt = InstanceData()
    gt.bboxes = HorizontalBoxes(torch.tensor([[40., 40., 200., 400.]]))
    m = np.zeros((1, 400, 400), np.uint8)
    m[0, 40:400, 40:200] = 1
    gt.masks = BitmapMasks(m, 400, 400)
    s.gt_instances = gt
    out = ValLossHook._to_input_frame([s])[0]
    assert out.gt_instances.bboxes.tensor.tolist() == [[20., 10., 100., 100.]]
    assert out.gt_instances.masks.masks.shape == (1, 100, 200)
    ys, xs = np.nonzero(out.gt_instances.masks.masks[0])
    assert abs(xs.min() - 20) <= 1 and abs(ys.min() - 10) <= 1
    assert s.gt_instances.bboxes.tensor.tolist() == [[40., 40., 200., 400.]]  # input untouched
