"""Attribute-Mask R-CNN: head unit tests and 2-iteration CPU train + test runs."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import DEMO_CONFIG, REPO, tiny_cfg_options
from mmengine.config import ConfigDict

from fashionpedia_plugin.datasets import taxonomy


def small_head(**kw):
    from mmdet.registry import MODELS
    head = MODELS.build(
        dict(
            type='AttributeConvFCBBoxHead',
            num_shared_fcs=1,
            in_channels=4,
            fc_out_channels=16,
            roi_feat_size=2,
            num_classes=3,
            reg_class_agnostic=False,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder', target_means=[0.] * 4, target_stds=[0.1, 0.1, 0.2, 0.2]),
            **kw))
    head.init_weights()
    return head


def test_attribute_bias_prior_and_shapes():
    head = small_head()
    assert torch.allclose(head.fc_attr.bias, torch.full((294, ), -np.log(293.0)))
    cls, reg, attr = head(torch.randn(5, 4, 2, 2))
    assert cls.shape == (5, 4) and reg.shape == (5, 12) and attr.shape == (5, 294)
    # at init every attribute sigmoid is ~ the prior 1/294
    assert torch.allclose(attr.sigmoid().mean(), torch.tensor(1 / 294), rtol=0.2)


def test_attributes_follow_detections_through_nms():
    head = small_head(attr_score_thr=0.5)
    torch.manual_seed(0)
    n = 6  # disjoint RoIs, each scoring high in two classes -> more detections than RoIs
    rois = torch.tensor([[0, 40. * i, 0, 40. * i + 30, 30] for i in range(n)])
    cls = torch.full((n, 4), -5.0)
    for i in range(n):
        cls[i, i % 3] = 3.0
        cls[i, (i + 1) % 3] = 2.5
    attr = torch.randn(n, 294) * 3
    res = head._predict_with_attributes(
        rois, cls, torch.zeros(n, 12), dict(img_shape=(100, 400)), False,
        ConfigDict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5), max_per_img=100), attr)
    assert len(res) > n
    assert len(res.attribute_ids) == len(res) == len(res.attr_scores)
    for k in range(len(res)):
        row = int(torch.nonzero((rois[:, 1:] - res.bboxes[k]).abs().sum(1) < 1e-3)[0])
        assert torch.allclose(res.attr_scores[k], attr[row].sigmoid())
        expect = [
            taxonomy.ATTRIBUTE_IDS[j]
            for j in torch.nonzero(attr[row].sigmoid() > 0.5).flatten().tolist()
        ]
        assert res.attribute_ids[k] == expect


def run_tool(*args, timeout=600):
    res = subprocess.run([sys.executable, *args],
                         cwd=REPO,
                         capture_output=True,
                         text=True,
                         timeout=timeout)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res.stdout + res.stderr


@pytest.fixture(scope='module')
def trained(synthetic_root, tmp_path_factory):
    """tools/train.py on the synthetic data for 2 iterations (a user's command line)."""
    work = str(tmp_path_factory.mktemp('train'))
    log = run_tool('tools/train.py', DEMO_CONFIG, '--work-dir', work, '--cfg-options',
                   *tiny_cfg_options(synthetic_root, work))
    return work, log


def test_train_two_iterations_synthetic(trained):
    work, log = trained
    assert osp.isfile(osp.join(work, 'iter_2.pth'))
    assert 'loss_attr' in log and 'fashionpedia/segm_iouf1_AP' in log


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


def test_predictions_carry_aligned_attribute_ids(trained, synthetic_root):
    from mmengine.config import Config
    from mmengine.runner import Runner
    work, _ = trained
    import argparse

    from mmengine.config import DictAction
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction)
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.merge_from_dict(parser.parse_args(['--o', *tiny_cfg_options(synthetic_root, work)]).o)
    cfg.work_dir = work
    # make every attribute pass the threshold check in a non-trivial way
    cfg.model.roi_head.bbox_head.attr_score_thr = 0.001
    cfg.model.test_cfg.rcnn.score_thr = 0.0
    cfg.load_from = osp.join(work, 'iter_2.pth')
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    model = runner.model.eval()
    batch = next(iter(runner.test_dataloader))
    with torch.no_grad():
        out = model.test_step(batch)
    assert sum(len(s.pred_instances) for s in out) > 0
    for sample in out:
        pred = sample.pred_instances
        assert len(pred.attribute_ids) == len(pred.bboxes) == len(pred.attr_scores)
        for ids, scores in zip(pred.attribute_ids, pred.attr_scores):
            assert ids == [
                taxonomy.ATTRIBUTE_IDS[j] for j in torch.nonzero(scores > 0.001).flatten().tolist()
            ]


def test_train_two_iterations_real_sample(sample_dir, tmp_path):
    from fashionpedia_plugin.engine.launch import build_train_runner
    ann = osp.join(sample_dir, 'sample_final_taxonomy.json')
    opts = [
        o for o in tiny_cfg_options(sample_dir, str(tmp_path))
        if 'ann_file' not in o and 'data_root' not in o
    ]
    opts += [
        f'train_dataloader.dataset.ann_file={ann}', f'val_dataloader.dataset.ann_file={ann}',
        f'val_evaluator.ann_file={ann}', 'train_dataloader.dataset.data_root=',
        'val_dataloader.dataset.data_root=',
        f'train_dataloader.dataset.data_prefix.img={sample_dir}/images/',
        f'val_dataloader.dataset.data_prefix.img={sample_dir}/images/',
        'train_dataloader.dataset.filter_cfg.min_size=0'
    ]
    runner = build_train_runner([DEMO_CONFIG, '--work-dir', str(tmp_path), '--cfg-options', *opts])
    runner.train()
    hub = runner.message_hub  # (scalars.json may belong to an earlier in-process Visualizer)
    assert runner.iter == 2
    assert np.isfinite(hub.get_scalar('train/loss_attr').current())
    assert 'val/fashionpedia/segm_iouf1_AP' in hub.log_scalars
