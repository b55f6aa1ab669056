"""Compare two runs on one Markdown page: config differences, curves, final metrics with 95%
intervals, paired differences with intervals and a verdict per metric.

  python tools/analysis_tools/compare_runs.py RUN_A RUN_B [--out REPORT.md] [--names A B]
      [--ann-file ANN_JSON] [--pred-a SEGM_JSON] [--pred-b SEGM_JSON] [--bootstrap 1000]
      [--seed 0]

RUN_A/RUN_B: work dirs. The predictions are those each run's final evaluation wrote in its work
dir (val_evaluator.outfile_prefix: <prefix>.segm.json/.bbox.json, or predictions.json, or
tools/test.py --out X.json: X.json and X.bbox.json), or
--pred-a/--pred-b (segm; either alone, the other run's are found); the annotation file is
RUN_A's val_evaluator.ann_file, or --ann-file.
The report goes to --out (default work_dirs/compare/<A>_vs_<B>.md, with the two names), the
curves beside it (<report>_curves.png).
"""
import argparse
import os.path as osp
import sys

from fashionpedia_plugin.toolkit.cli import CLIError, run_cli
from fashionpedia_plugin.toolkit.run_comparison import ComparisonError, compare_runs


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('run_a')
    p.add_argument('run_b')
    p.add_argument(
        '--out', help='report (default: work_dirs/compare/<A>_vs_<B>.md, with the two names)')
    p.add_argument('--names', nargs=2, help='names of the two runs (default: folder names)')
    p.add_argument('--ann-file', help="default: RUN_A's val_evaluator.ann_file")
    p.add_argument('--pred-a', help="RUN_A's segm predictions (default: found in its work dir)")
    p.add_argument('--pred-b', help="RUN_B's segm predictions (default: found in its work dir)")
    p.add_argument('--bootstrap', type=int, default=1000, help='resamples (default %(default)s)')
    p.add_argument('--seed', type=int, default=0)
    a = p.parse_args(argv)
    for flag, path in (('--pred-a', a.pred_a), ('--pred-b', a.pred_b)):
        if path and not osp.isfile(path):
            raise CLIError(f'{flag} {path}: not found')
    preds = [{'segm': p} if p else None for p in (a.pred_a, a.pred_b)]
    if a.out is None:  # under work_dirs/ (git-ignored), never the current folder
        names = a.names or [osp.basename(osp.normpath(r)) for r in (a.run_a, a.run_b)]
        a.out = osp.join('work_dirs', 'compare', f'{names[0]}_vs_{names[1]}.md')
    try:
        boots = compare_runs(a.run_a, a.run_b, a.out, a.names, a.ann_file, preds, a.bootstrap,
                             a.seed)
    except ComparisonError as e:
        raise CLIError(str(e)) from None
    with open(a.out) as f:
        text = f.read()
    print(text.split('## Config differences')[0].strip())
    print(f'-> {a.out} ({", ".join(boots)}; {a.bootstrap} resamples)')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
