"""One Markdown page comparing two runs (work dirs): what differs in their configs, their
curves, their final metrics with intervals and the paired differences, and a verdict per metric.

The differences come from the predictions each run's final evaluation wrote (the metric's
``outfile_prefix``: ``<prefix>.segm.json`` / ``<prefix>.bbox.json``, or the demo's
``predictions.json``), or ``tools/test.py --out X.json`` wrote there (``X.json`` the segm
results, ``X.bbox.json`` beside it), evaluated on the same annotation file and compared by
the paired bootstrap over images (``evaluation/functional/bootstrap.py``).
"""
import glob
import os
import os.path as osp

from .config_diff import diff_configs, flatten
from .log_analysis import DEFAULT_KEYS, load_run, plot_runs, summarize, summary_table
from .run_configs import find_run_config, read_dumped_config


class ComparisonError(ValueError):
    pass


def find_predictions(work_dir):
    """``{'segm': path, 'bbox': path}`` of the newest predictions a run wrote in its work dir:
    the metric's ``<prefix>.segm.json`` / ``<prefix>.bbox.json`` (or ``predictions.json``), or
    ``tools/test.py --out X.json``'s ``X.json`` (segm) beside its ``X.bbox.json``."""
    bbox = glob.glob(osp.join(work_dir, '*.bbox.json'))
    beside = [p[:-len('.bbox.json')] + '.json' for p in bbox]
    found = {}
    for iou_type, paths in (('segm', glob.glob(osp.join(work_dir, '*.segm.json')) +
                             glob.glob(osp.join(work_dir, 'predictions.json')) +
                             [p for p in beside if osp.isfile(p)]), ('bbox', bbox)):
        if paths:
            found[iou_type] = max(set(paths), key=osp.getmtime)
    return found


def annotation_file(cfg, cfg_path):
    """The run's validation annotation file, as its config names it (data_root applied)."""
    ann = (cfg.get('val_evaluator') or {}).get('ann_file')
    if not ann:
        raise ComparisonError(f'{cfg_path}: no val_evaluator.ann_file; give --ann-file')
    root = ((cfg.get('val_dataloader') or {}).get('dataset') or {}).get('data_root', '')
    for cand in (ann, osp.join(root, ann)):
        if osp.isfile(cand):
            return cand
    raise ComparisonError(f'{cfg_path}: val_evaluator.ann_file {ann!r} not found (also not under '
                          f'data_root {root!r}); give --ann-file')


def _cell(v, width=60):
    s = str(v).replace('|', '\\|')
    return s if len(s) <= width else s[:width - 3] + '...'


def config_table(cfg_a, cfg_b, names):
    rows = diff_configs([flatten(cfg_a), flatten(cfg_b)])
    if not rows:
        return 'The resolved configs are equal (work dir, seed-free noise aside).'
    lines = [f'| key | {names[0]} | {names[1]} |', '|---|---|---|']
    lines += [f'| `{k}` | {_cell(vals[0])} | {_cell(vals[1])} |' for k, vals, _ in rows]
    return '\n'.join(lines)


def compare_runs(run_a,
                 run_b,
                 out,
                 names=None,
                 ann_file=None,
                 predictions=None,
                 num_resamples=1000,
                 seed=0):
    """Write the report to ``out`` (its curves beside it); returns the bootstrap per IoU type.
    ``predictions``: per run, ``{'segm': path}`` or None (found in its work dir)."""
    from ..evaluation.functional.bootstrap import HEADLINE, HEADLINE_NAMES, verdict
    from .offline_eval import bootstrap_files, format_bootstrap
    names = names or [osp.basename(osp.normpath(r)) for r in (run_a, run_b)]
    if names[0] == names[1]:
        names = [f'A ({names[0]})', f'B ({names[1]})']
    cfgs = []
    for run in (run_a, run_b):
        path = find_run_config(run)
        if path is None:
            raise ComparisonError(f'{run}: no dumped config (<timestamp>/vis_data/config.py)')
        cfgs.append((read_dumped_config(path), path))
    preds = [p or find_predictions(r) for p, r in zip(predictions or (None, None), (run_a, run_b))]
    iou_types = [t for t in ('segm', 'bbox') if t in preds[0] and t in preds[1]]
    if not iou_types:
        raise ComparisonError(
            f'no predictions of the same kind in both runs ({run_a}: {sorted(preds[0])}, {run_b}: '
            f'{sorted(preds[1])}); write them with tools/test.py CONFIG CKPT --cfg-options '
            'test_evaluator.outfile_prefix=WORK_DIR/predictions (or --out WORK_DIR/preds.json)')
    one_run_only = [
        f'{t} predictions were found for {n} only ({preds[i][t]}), so {t} is not compared'
        for t in ('segm', 'bbox') if t not in iou_types for i, n in enumerate(names)
        if t in preds[i]
    ]
    ann_file = ann_file or annotation_file(*cfgs[0])
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    runs = [load_run(r, n) for r, n in zip((run_a, run_b), names)]
    curves = osp.splitext(out)[0] + '_curves.png'
    keys = plot_runs(runs, DEFAULT_KEYS, curves)
    boots, tables, verdicts = {}, [], []
    for iou_type in iou_types:
        files = [preds[0][iou_type], preds[1][iou_type]]
        boot, _, no_attr = bootstrap_files(ann_file, files, iou_type, num_resamples, seed)
        boots[iou_type] = boot
        notes = ''.join(f'\n\n{n}: {k} predictions without "attribute_ids", evaluated as '
                        'predicting no attributes.' for n, k in zip(names, no_attr) if k)
        tables.append(f'### {iou_type}\n\n{format_bootstrap(boot, names)}{notes}\n')
        for key in HEADLINE:
            line = verdict(boot['deltas'][0][key]).replace('B ', f'{names[1]} ', 1)
            verdicts.append(f'- {iou_type} {HEADLINE_NAMES[key]}: {line}')
    page = [
        f'# {names[1]} vs {names[0]}', '',
        f'Runs: `{run_a}` ({names[0]}), `{run_b}` ({names[1]}); annotations `{ann_file}`; '
        'predictions ' + ', '.join(f'{n}: `{preds[i][t]}`' for t in iou_types
                                   for i, n in enumerate(names)) + '.', '',
        '## Verdict (B - A, AP x 100, 95% paired bootstrap interval over images)', '', *verdicts,
        *[f'- {why}.' for why in one_run_only], '', '## Config differences', '',
        config_table(cfgs[0][0], cfgs[1][0],
                     names), '', '## Curves', '', f'![curves]({osp.basename(curves)})', '',
        f'Keys: {", ".join(keys)}.', '', '## Final metrics (logs)', '',
        summary_table([summarize(r) for r in runs]), '',
        '## Final metrics with intervals and paired differences', '', *tables, ''
    ]
    with open(out, 'w') as f:
        f.write('\n'.join(page))
    return boots
