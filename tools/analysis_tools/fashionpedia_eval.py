"""Evaluate a results file in the official Fashionpedia format (COCO results + attribute_ids).

  python tools/analysis_tools/fashionpedia_eval.py ANN_JSON RESULTS_JSON [B.json ...] \
      [--iou-type segm|bbox] [--out FILE] [--reference] [--report FILE.md|.csv] [--heatmap F.png]
      [--bootstrap N] [--seed S]

Prints AP/AR for the three views of the official evaluator (IoU+F1, IoU only, F1 only) and,
with --out, writes {"iou+f1": {...}, "iou": {...}, "f1": {...}} keyed by the official summary
keys. --reference runs the official fashionpedia.FPEval instead (slow), for published numbers.
--report writes precision/recall/F1/support per attribute and super-category on matched
detections and per-class AP; --heatmap draws category x super-category attribute F1.
--bootstrap N (or several results files): every headline metric (COCO mAP, AP with IoU+F1,
AP IoU, F1-only AP) with its 95% interval over images, and for each later file the paired
difference to the first with its interval and the fraction of resamples it wins; the per-image
matching is computed once per file and only the accumulation is repeated.
"""
import argparse
import json
import os.path as osp
import sys
import time

from fashionpedia_plugin.toolkit.cli import CLIError, output_file, run_cli
from fashionpedia_plugin.toolkit.offline_eval import (bootstrap_files, evaluate_files,
                                                      format_bootstrap, format_table)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('ann_file')
    p.add_argument('results_files', nargs='+', metavar='results_file')
    p.add_argument('--iou-type', choices=['segm', 'bbox'], default='segm')
    p.add_argument('--out', help='write the three views as JSON')
    p.add_argument('--reference', action='store_true', help='use the official FPEval (slow)')
    p.add_argument('--report', help='attribute report, .md or .csv')
    p.add_argument('--heatmap', help='category x attribute super-category F1 picture (.png)')
    p.add_argument(
        '--bootstrap',
        type=int,
        metavar='N',
        help='resamples (default 1000 with 2+ '
        'results files)')
    p.add_argument('--seed', type=int, default=0, help='bootstrap seed (default 0)')
    a = p.parse_args(argv)
    if len(a.results_files) > 1 or a.bootstrap:
        return compare(a)
    a.results_file = a.results_files[0]
    if a.reference and (a.report or a.heatmap):
        raise CLIError('--report/--heatmap use the vectorized evaluator; drop --reference')
    if a.report and not a.report.endswith(('.md', '.csv')):
        raise CLIError(f'--report must end with .md or .csv: {a.report}')
    for path in (a.out, a.report, a.heatmap):
        output_file(path)
    t = time.time()
    views = evaluate_files(a.ann_file, a.results_file, a.iou_type, a.reference, a.report, a.heatmap)
    print(format_table(views))
    print(f'{"official FPEval" if a.reference else "vectorized evaluator"}, {a.iou_type}, '
          f'{time.time() - t:.2f} s')
    if a.out:
        with open(a.out, 'w') as f:
            json.dump(views, f, indent=1)
    for path in (a.report, a.heatmap):
        if path:
            print(f'-> {path}')
    return 0


def compare(a):
    if a.reference or a.report or a.heatmap:
        raise CLIError('--reference/--report/--heatmap evaluate one results file; drop them '
                       'with --bootstrap or several results files')
    n = a.bootstrap or 1000
    if n < 2:
        raise CLIError(f'--bootstrap needs at least 2 resamples, got {n}')
    t = time.time()
    out, views, no_attr = bootstrap_files(a.ann_file, a.results_files, a.iou_type, n, a.seed)
    names = [osp.basename(f) for f in a.results_files]
    if len(set(names)) < len(names):
        names = list(a.results_files)
    print(format_bootstrap(out, names))
    for name, k in zip(names, no_attr):
        if k:
            print(f'note: {k} results of {name} have no "attribute_ids": evaluated as predicting '
                  'no attributes')
    print(f'{a.iou_type}, {len(names)} results files, {time.time() - t:.2f} s')
    if a.out:
        with open(output_file(a.out), 'w') as f:
            json.dump(dict(files=list(a.results_files), views=views, bootstrap=out), f, indent=1)
        print(f'-> {a.out}')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
