"""config_diff (toolkit/config_diff.py): key-level diffs and the recipe check."""
import glob
import json
import os.path as osp

import pytest
from conftest import REPO, TOOLS, tool


def test_config_diff_table_and_json():
    seed = osp.join(REPO, 'configs', 'mask-rcnn', 'mask-rcnn_r50_fpn_seed-240k_fashionpedia.py')
    plain = osp.join(REPO, 'configs', 'mask-rcnn', 'mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py')
    res = tool(
        osp.join(TOOLS, 'analysis_tools', 'config_diff.py'), plain, seed, '--json', '--cfg-options',
        'work_dir=/x')
    diff = {d['key']: d for d in json.loads(res.stdout)['differences']}
    assert diff['optim_wrapper.optimizer.lr']['values'] == [0.02, 0.0001]
    assert diff['train_cfg.max_iters']['values'] == [90000, 240000]
    assert diff['model.backbone.frozen_stages']['values'] == [-1, 4]
    assert not any(k.startswith('work_dir') for k in diff)


def _recipe(config, *args, check=True):
    res = tool(
        osp.join(TOOLS, 'analysis_tools', 'config_diff.py'),
        config,
        '--recipe',
        '--json',
        *args,
        check=check)
    return res, {r['entry']: r for r in json.loads(res.stdout)}


def test_recipe_check_flags_the_seed_mistakes():
    seed = osp.join(REPO, 'configs', 'mask-rcnn', 'mask-rcnn_r50_fpn_seed-240k_fashionpedia.py')
    res, rows = _recipe(seed, '--strict', check=False)
    assert res.returncode == 1
    # lr 1e-4 constant for batch 4, 4 RoIs per image, frozen stages, 21 epochs, no attributes
    assert rows['lr per image']['ours'] == pytest.approx(1e-4 / 4)
    assert rows['lr drops (images seen)']['ours'] == []
    assert rows['RoIs sampled per image / fg fraction']['ours'][0] == 4
    assert rows['frozen backbone stages']['ours'] == 4
    assert round(rows['schedule (images seen)']['ours'] / 45623) == 21
    assert rows['attribute branch and target']['ours'].startswith('absent')
    # mmdet's assigner: IoU 0.5 is foreground, and low-quality matches
    assert rows['RoI fg / bg IoU']['ours'] == 'fg >= 0.5, bg [0, 0.5), + low-quality matches'
    for entry in ('lr per image', 'lr drops (images seen)', 'RoIs sampled per image / fg fraction',
                  'frozen backbone stages', 'schedule (images seen)', 'attribute branch and target',
                  'RoI fg / bg IoU'):
        assert rows[entry]['status'] == 'deviates', entry


def test_paper_3x_config_deviates_only_where_documented():
    paper = osp.join(REPO, 'configs', 'attr-mask-rcnn',
                     'attr-mask-rcnn_r50_fpn_lsj-3x_fashionpedia.py')
    res, rows = _recipe(paper, '--strict')
    status = {k: r['status'] for k, r in rows.items()}
    assert {k for k, s in status.items() if s == 'deviates'} == set()
    assert {k for k, s in status.items() if s == 'documented'} == {'total batch'}
    assert {k
            for k, s in status.items()
            if s == 'n/a'} == {'attribute threshold', 'backbone initialisation'}


@pytest.mark.parametrize('config', sorted(glob.glob(osp.join(REPO, 'configs', '*', '*.py'))))
def test_recipe_check_reads_every_config(config):
    from fashionpedia_plugin.toolkit.cli import load_config
    from fashionpedia_plugin.toolkit.recipe_check import check, format_check
    rows = check(load_config(config), schedule='1x')
    assert len(rows) == 35 and 'match' in format_check(rows)


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
    # ... at a separator where there is one: names stay whole, nothing is lost
    from fashionpedia_plugin.toolkit.config_diff import fmt
    value = dict(type='AttributeConvFCBBoxHead', num_classes=46, loss_attr=dict(loss_weight=1.0))
    lines = fmt(value, 40)
    assert ''.join(lines) == repr(value) and all(len(ln) <= 40 for ln in lines)
    assert any("'AttributeConvFCBBoxHead'" in ln for ln in lines), lines
    assert fmt('x' * 90, 40) == ['x' * 40, 'x' * 40, 'x' * 10] and fmt('') == ['']
    assert fmt('AttributeConvFCBBoxHead', 21) == ['AttributeConvFCBBox', 'Head']
    assert ''.join(fmt('AbAbAb', 1)) == 'AbAbAb'  # a narrow column ends (it looped)


def test_recipe_schedule_arithmetic_reads_at_small_scale():
    from fashionpedia_plugin.toolkit.config_diff import images
    assert images(520 * 4) == '2,080 images'
    assert images(90000 * 16) == '1.44 M images'


def test_recipe_schedule_follows_the_config_name():
    """The 1x config is compared with the 1x recipe unless --schedule says otherwise; a name
    without a schedule gets the released 3x."""
    from fashionpedia_plugin.toolkit.recipe_check import schedule_of
    assert schedule_of('x/attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py')[0] == '1x'
    assert schedule_of('attr-mask-rcnn_r50_fpn_8xb8-lsj-6x_fashionpedia.py')[0] == '6x'
    assert schedule_of('mask-rcnn_r50_fpn_seed-240k_fashionpedia.py')[0] == '3x'
    one = osp.join(REPO, 'configs', 'attr-mask-rcnn',
                   'attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py')
    res = tool(osp.join(TOOLS, 'analysis_tools', 'config_diff.py'), one, '--recipe')
    assert '(R50-FPN, 1x schedule: from the config name; --schedule to choose)' in res.stdout
    assert '32 match, 0 deviates' in res.stdout
    _, rows = _recipe(one, '--schedule', '3x')
    assert rows['schedule (images seen)']['official'] == 16875 * 256


def test_recipe_check_of_the_8xb8_config_reads_its_gpus_from_the_name():
    """``8xb8``: 8 GPUs x 8 = total batch 64, the official template's own batch: its lr 0.08 and
    22,500 iterations are matches, not the "documented" batch-16 rescaling."""
    from fashionpedia_plugin.toolkit.recipe_check import gpus_of
    assert gpus_of('attr-mask-rcnn_r50_fpn_8xb8-lsj-1x_fashionpedia.py')[0] == 8
    assert gpus_of('attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py') == (None, '')
    assert gpus_of('x_1xb2.py')[1].startswith('; 1 GPU: from the config name (1xb2), ')
    big = osp.join(REPO, 'configs', 'attr-mask-rcnn',
                   'attr-mask-rcnn_r50_fpn_8xb8-lsj-1x_fashionpedia.py')
    res = tool(osp.join(TOOLS, 'analysis_tools', 'config_diff.py'), big, '--recipe')
    assert '1x schedule: from the config name; --schedule to choose; 8 GPUs: from the config ' \
        'name (8xb8), its schedule resolved for that total batch as tools/train.py does; ' \
        '--gpus to choose)' in res.stdout
    _, rows = _recipe(big)
    assert rows['total batch']['ours'] == 64 and rows['total batch']['status'] == 'match'
    assert {r['status'] for r in rows.values()} <= {'match', 'n/a'}, rows
    _, rows = _recipe(big, '--gpus', '2')  # as before: 2 x 8 = the config's 16
    assert rows['total batch']['ours'] == 16 and rows['total batch']['status'] == 'documented'
