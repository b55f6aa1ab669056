"""Every config under configs/ loads and its model builds (one parametrized test over all)."""
import glob
import os.path as osp

import pytest
from conftest import REPO
from mmengine.config import Config

CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p)


def test_there_are_configs():
    names = {osp.basename(p) for p in CONFIGS}
    assert 'attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py' in names
    assert 'mask-rcnn_r50_fpn_seed-240k_fashionpedia.py' in names
    assert len(CONFIGS) >= 7


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.relpath(p, REPO) for p in CONFIGS])
def test_config_loads_and_model_builds(path):
    from mmdet.registry import MODELS
    cfg = Config.fromfile(path)
    cfg.model.backbone.init_cfg = None  # no pretrained download
    model = MODELS.build(cfg.model)
    assert model.roi_head.bbox_head.num_classes == 46
    assert model.roi_head.mask_head.num_classes == 46
    if 'attr-mask-rcnn' in osp.basename(path):
        assert type(model.roi_head).__name__ == 'AttributeRoIHead'
        assert model.roi_head.bbox_head.fc_attr.out_features == 294
    # the evaluator and datasets resolve to registered plugin classes
    assert cfg.val_evaluator.type == 'FashionpediaMetric'
    assert cfg.train_dataloader.dataset.type == 'FashionpediaDataset'


@pytest.mark.parametrize('schedule,iters,steps', [('1x', 90000, [80000, 86667]),
                                                  ('2x', 180000, [160000, 173333]),
                                                  ('3x', 270000, [240000, 260000]),
                                                  ('6x', 540000, [480000, 520000])])
def test_paper_schedules(schedule, iters, steps):
    name = f'attr-mask-rcnn_r50_fpn_lsj-{schedule}_fashionpedia.py'
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'attr-mask-rcnn', name))
    assert cfg.train_cfg.max_iters == iters
    step = [s for s in cfg.param_scheduler if s.type == 'MultiStepLR'][0]
    assert step.milestones == steps and step.end == iters
    # same fractions as the official 3x config: 15,000 / 16,875 and 16,250 / 16,875
    assert abs(steps[0] / iters - 15000 / 16875) < 1e-4
    assert abs(steps[1] / iters - 16250 / 16875) < 1e-4
    assert cfg.auto_scale_lr.base_batch_size == 16
    assert cfg.optim_wrapper.optimizer.lr == 0.02
    assert cfg.default_hooks.checkpoint.save_best == 'fashionpedia/segm_mAP'
