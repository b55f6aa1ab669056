"""config_diff (toolkit/config_diff.py): key-level diffs and the recipe check."""
import json
import os.path as osp

from conftest import REPO, TOOLS, tool


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
