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


def test_diff_rows_list_items_by_type_and_wrapped_values(tmp_path):
    from fashionpedia_plugin.toolkit.config_diff import ABSENT, diff_configs, flatten, format_rows
    a = dict(
        custom_hooks=[dict(type='InvalidLossHook'),
                      dict(type='RNGStateHook')],
        init_cfg=None,
        long='x' * 100)
    b = dict(
        custom_hooks=[
            dict(type='ValLossHook'),
            dict(type='InvalidLossHook'),
            dict(type='RNGStateHook', interval=2)
        ],
        long='x' * 100 + 'y')
    rows = {k: (v, s) for k, v, s in diff_configs([flatten(a), flatten(b)], ignore=())}
    # one inserted hook is one row (not three position shifts); a changed one is key-level
    assert rows['custom_hooks.[ValLossHook]'] == ([ABSENT, dict(type='ValLossHook')], 'inserted')
    assert rows['custom_hooks.[RNGStateHook].interval'] == ([ABSENT, 2], 'added')
    assert not any(k.startswith('custom_hooks.[InvalidLossHook]') for k in rows)
    # None is a value, not an absent key; no row has every side absent
    assert rows['init_cfg'] == ([None, ABSENT], 'removed')
    assert all(any(v != ABSENT for v in vals) for vals, _ in rows.values())
    # long values wrap onto continuation lines, nothing is cut
    text = format_rows([('long', rows['long'][0], 'changed')], ['[A]', '[B]'])
    assert ''.join(line[15:].split()[-1] for line in text.splitlines()[1:]).endswith('y')
    assert '...' not in text


def test_recipe_schedule_arithmetic_reads_at_small_scale():
    from fashionpedia_plugin.toolkit.config_diff import images
    assert images(520 * 4) == '2,080 images'
    assert images(90000 * 16) == '1.44 M images'
