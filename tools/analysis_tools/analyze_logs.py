"""Curves, summary table and trend warnings for one or many mmengine runs.

  python tools/analysis_tools/analyze_logs.py RUN [RUN ...] [--keys loss segm_mAP ...]
      [--out curves.png] [--summary summary.md|summary.csv] [--summary-all] [--patience 3]
      [--smooth 5] [--names a b ...] [--no-group]

RUN: a work_dir (its training runs joined: the first and every --resume; test runs passed over),
a <timestamp>/ dir, a vis_data/scalars.json
or a text .log. Iteration-based runs are plotted against iterations. Keys match exactly or by
their last part (segm_mAP matches fashionpedia/segm_mAP). The summary (printed, and --summary) has
one row per run: iterations, time, memory and the headline metrics (final loss, best and last
segm mAP and IoU+F1 AP, last bbox mAP); --keys picks its columns, --summary-all shows every
validation metric. Runs whose resolved configs (vis_data/config.py, read without running it)
are equal except for the seed and the work dir are seeds of one experiment: the summary then
also has one row per group with mean +- std (n) of each column, and the curves show the group
mean with a +-1 std band (--no-group: one line per run). Output folders are created. Exit
code 0; warnings go to stderr.
"""
import argparse
import json
import os
import os.path as osp
import sys

from fashionpedia_plugin.toolkit.cli import run_cli
from fashionpedia_plugin.toolkit.log_analysis import (DEFAULT_KEYS, check_keys, group_table,
                                                      load_run, plot_runs, summarize, summary_table,
                                                      trend_warnings)
from fashionpedia_plugin.toolkit.run_configs import group_by_config


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('runs', nargs='+')
    p.add_argument(
        '--keys',
        nargs='+',
        help=f'curves and summary columns (curves default: '
        f'{" ".join(DEFAULT_KEYS)})')
    p.add_argument('--summary-all', action='store_true', help='every metric in the summary')
    p.add_argument('--names', nargs='+', help='legend names, one per run')
    p.add_argument('--out', help='PNG with one panel per key')
    p.add_argument('--summary', help='write the summary table (.md or .csv)')
    p.add_argument('--json', action='store_true', help='print the summary as JSON')
    p.add_argument('--patience', type=int, default=3)
    p.add_argument('--smooth', type=int, default=5, help='moving-average window, train curves')
    p.add_argument('--no-group', action='store_true', help='no grouping of seeds by config')
    a = p.parse_args(argv)
    if a.names and len(a.names) != len(a.runs):
        p.error('--names needs one name per run')
    try:
        runs = [load_run(r, a.names[i] if a.names else None) for i, r in enumerate(a.runs)]
        partly_logged = check_keys(runs, a.keys)
    except ValueError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    for why in partly_logged:
        print(f'WARNING: {why}', file=sys.stderr)
    rows = [summarize(r) for r in runs]
    groups = None
    if not a.no_group and len(runs) > 1:
        groups, problems = group_by_config(a.runs)
        for why in problems.values():
            print(f'WARNING: not grouped: {why}', file=sys.stderr)
        if all(len(g) == 1 for g in groups):
            groups = None
    if a.json:
        print(json.dumps(dict(runs=rows, groups=groups) if groups else rows, indent=1))
    else:
        print(summary_table(rows, 'md', a.keys, a.summary_all))
        if groups:
            print('\nseeds of one config (mean +- std over runs):')
            print(group_table(rows, groups, 'md', a.keys, a.summary_all))
    for path in (a.summary, a.out):
        if path and osp.dirname(path):
            os.makedirs(osp.dirname(path), exist_ok=True)
    if a.summary:
        fmt = 'csv' if a.summary.endswith('.csv') else 'md'
        with open(a.summary, 'w') as f:
            f.write(summary_table(rows, fmt, a.keys, a.summary_all) + '\n')
            if groups:
                f.write('\n' + group_table(rows, groups, fmt, a.keys, a.summary_all) + '\n')
    for r in runs:
        for w in trend_warnings(r, a.patience):
            print(f'WARNING: {w}', file=sys.stderr)
    if a.out:
        try:
            keys = plot_runs(runs, a.keys or DEFAULT_KEYS, a.out, a.smooth, groups)
        except ValueError as e:
            print(f'error: {e}', file=sys.stderr)
            return 2
        print(f'curves of {", ".join(keys)} -> {a.out}')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
