"""AttributeRoIHead: predictions of a trained model carry attribute scores, one row per
detection."""
import os.path as osp

import torch
from conftest import DEMO_CONFIG, tiny_cfg_options


def test_predictions_carry_attribute_scores(trained, synthetic_root):
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
        assert pred.attr_scores.shape == (len(pred.bboxes), 294)
        assert ((pred.attr_scores >= 0) & (pred.attr_scores <= 1)).all()
        assert 'attribute_ids' not in pred  # decoding is AttributeDecoder's, in the metric
