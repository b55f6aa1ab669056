"""Evaluate a results file in the official Fashionpedia format (COCO results + attribute_ids).

  python tools/analysis_tools/fashionpedia_eval.py ANN_JSON RESULTS_JSON \
      [--iou-type segm|bbox] [--out FILE] [--reference]

Prints AP/AR for the three views of the official evaluator (IoU+F1, IoU only, F1 only) and,
with --out, writes {"iou+f1": {...}, "iou": {...}, "f1": {...}} keyed by the official summary
keys. --reference runs the official fashionpedia.FPEval instead (slow), for published numbers.
"""
import argparse
import json
import sys
import time

from fashionpedia_plugin.engine.launch import run_cli
from fashionpedia_plugin.evaluation.offline import evaluate_files, format_table


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('ann_file')
    p.add_argument('results_file')
    p.add_argument('--iou-type', choices=['segm', 'bbox'], default='segm')
    p.add_argument('--out', help='write the three views as JSON')
    p.add_argument('--reference', action='store_true', help='use the official FPEval (slow)')
    a = p.parse_args(argv)
    t = time.time()
    views = evaluate_files(a.ann_file, a.results_file, a.iou_type, a.reference)
    print(format_table(views))
    print(f'{"official FPEval" if a.reference else "vectorized evaluator"}, {a.iou_type}, '
          f'{time.time() - t:.2f} s')
    if a.out:
        with open(a.out, 'w') as f:
            json.dump(views, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
