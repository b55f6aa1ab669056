"""compare_runs.py: one report of two work dirs, its verdicts from the paired bootstrap."""
import json
import os.path as osp

from conftest import TOOLS, tool, tool_in_process
from test_bootstrap import _improved
from test_log_analysis import DUMPED, write_run

from fashionpedia_plugin.toolkit.eval_cases import make_case

COMPARE = osp.join(TOOLS, 'analysis_tools', 'compare_runs.py')


def _runs(tmp_path):
    gt, results = make_case(seed=5, num_images=40, dets_per_image=20)
    ann = tmp_path / 'val.json'
    ann.write_text(json.dumps(gt))
    runs = []
    for name, lr, preds in (('base', 0.02, results), ('improved', 0.01, _improved(results, gt,
                                                                                  0.5))):
        cfg = DUMPED.format(lr=lr, seed=0, name=name)
        cfg += f"val_evaluator = dict(type='FashionpediaMetric', ann_file='{ann}')\n"
        run = write_run(tmp_path, name, config=cfg)
        (run / 'predictions.segm.json').write_text(json.dumps(preds))
        runs.append(run)
    return runs


def test_report_has_config_diff_curves_intervals_and_verdicts(tmp_path):
    a, b = _runs(tmp_path)
    out = tmp_path / 'report' / 'cmp.md'
    res = tool(COMPARE, a, b, '--out', out, '--bootstrap', '200')
    text = out.read_text()
    assert '- segm AP IoU+F1: improved better: +' in text
    assert '| `optim_wrapper.optimizer.lr` | 0.02 | 0.01 |' in text
    assert '`randomness.seed`' not in text  # equal; work_dir is noise
    assert (tmp_path / 'report' / 'cmp_curves.png').stat().st_size > 10_000
    assert '| COCO mAP | ' in text and 'Paired bootstrap over 40 images, 200 resamples' in text
    assert 'improved better' in res.stdout
    # a run against itself: no difference
    tool(COMPARE, a, a, '--out', out, '--bootstrap', '50')
    assert 'no difference shown: +0.0' in out.read_text()


def test_default_report_goes_under_work_dirs_named_after_the_runs(tmp_path, monkeypatch):
    a, b = _runs(tmp_path)
    monkeypatch.chdir(tmp_path)
    res = tool_in_process(COMPARE, a, b, '--bootstrap', '20')
    assert res.returncode == 0, res.stderr[-2000:]
    out = tmp_path / 'work_dirs' / 'compare' / f'{a.name}_vs_{b.name}.md'
    assert out.is_file() and f'-> {osp.join("work_dirs", "compare", out.name)}' in res.stdout
    assert not (tmp_path / 'compare_report.md').exists()


def test_missing_predictions_say_how_to_write_them(tmp_path):
    a, b = _runs(tmp_path)
    (b / 'predictions.segm.json').unlink()
    res = tool(COMPARE, a, b, '--out', tmp_path / 'x.md', check=False)
    assert res.returncode != 0
    assert 'no predictions of the same kind in both runs' in res.stderr
    assert 'test_evaluator.outfile_prefix' in res.stderr


def test_one_prediction_file_given_the_other_found(tmp_path):
    """``--pred-b`` alone: B's file as given, A's found in its work dir (the help's default)."""
    a, b = _runs(tmp_path)
    moved = tmp_path / 'b_preds.segm.json'
    (b / 'predictions.segm.json').rename(moved)
    res = tool_in_process(COMPARE, a, b, '--pred-b', moved, '--out', tmp_path / 'x.md',
                          '--bootstrap', '20')
    assert res.returncode == 0, res.stderr[-2000:]
    text = (tmp_path / 'x.md').read_text()
    assert '- segm AP IoU+F1: improved better: +' in text
    assert f'predictions base: `{a / "predictions.segm.json"}`, improved: `{moved}`.' in text
    res = tool_in_process(COMPARE, a, b, '--pred-a', tmp_path / 'nope.json')
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1] == f'error: --pred-a {tmp_path}/nope.json: not found'


def test_test_tool_out_files_are_found_and_a_kind_of_one_run_only_is_said(tmp_path):
    """``tools/test.py --out WD/preds.json`` writes preds.json (segm) and preds.bbox.json: both
    are found (only the bbox file was, and the report compared bbox without a word about
    segm). A kind found for one run only is named in the verdict, not dropped silently."""
    a, b = _runs(tmp_path)
    (a / 'predictions.segm.json').rename(a / 'preds.json')
    (a / 'preds.bbox.json').write_text((a / 'preds.json').read_text())
    res = tool_in_process(COMPARE, a, b, '--out', tmp_path / 'x.md', '--bootstrap', '20')
    assert res.returncode == 0, res.stderr[-2000:]
    text = (tmp_path / 'x.md').read_text()
    assert f'predictions base: `{a / "preds.json"}`, improved: `{b / "predictions.segm.json"}`.' \
        in text
    assert '- segm AP IoU+F1: improved better: +' in text
    said = f'- bbox predictions were found for base only ({a / "preds.bbox.json"}), so bbox is ' \
        'not compared.'
    assert said in text and said in res.stdout
