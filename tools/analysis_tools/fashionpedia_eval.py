"""Evaluate a results file in the official Fashionpedia format (COCO results + attribute_ids).

  python tools/analysis_tools/fashionpedia_eval.py ANN_JSON RESULTS_JSON \
      [--iou-type segm|bbox] [--out FILE] [--reference] [--report FILE.md|.csv] [--heatmap F.png]

Prints AP/AR for the three views of the official evaluator (IoU+F1, IoU only, F1 only) and,
with --out, writes {"iou+f1": {...}, "iou": {...}, "f1": {...}} keyed by the official summary
keys. --reference runs the official fashionpedia.FPEval instead (slow), for published numbers.
--report writes precision/recall/F1/support per attribute and super-category on matched
detections and per-class AP; --heatmap draws category x super-category attribute F1.
"""
import argparse
import json
import sys
import time

from fashionpedia_plugin.toolkit.cli import CLIError, run_cli
from fashionpedia_plugin.toolkit.offline_eval import evaluate_files, format_table


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('ann_file')
    p.add_argument('results_file')
    p.add_argument('--iou-type', choices=['segm', 'bbox'], default='segm')
    p.add_argument('--out', help='write the three views as JSON')
    p.add_argument('--reference', action='store_true', help='use the official FPEval (slow)')
    p.add_argument('--report', help='attribute report, .md or .csv')
    p.add_argument('--heatmap', help='category x attribute super-category F1 picture (.png)')
    a = p.parse_args(argv)
    if a.reference and (a.report or a.heatmap):
        raise CLIError('--report/--heatmap use the vectorized evaluator; drop --reference')
    if a.report and not a.report.endswith(('.md', '.csv')):
        raise CLIError(f'--report must end with .md or .csv: {a.report}')
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


if __name__ == '__main__':
    sys.exit(run_cli(main))
