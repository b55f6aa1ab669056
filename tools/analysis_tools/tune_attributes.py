"""Calibrate the attribute decoder (thresholds, class prior) on a raw-score dump.

  python tools/analysis_tools/tune_attributes.py ANN_JSON PREDS_JSON [--scores X.attr_scores.npz]
      [--prior PRIOR_OR_TRAIN_ANN_JSON] [--prior-mode best|off|class|exclusive]
      [--iou-type segm|bbox] [--no-per-supercategory]
      [--out-dir work_dirs/attr_calib]
  python tools/analysis_tools/tune_attributes.py ANN_JSON PREDS_JSON --evaluate DECODER.json ...

PREDS_JSON and its .attr_scores.npz come from
``tools/test.py CONFIG CKPT --out PREDS_JSON --attr-scores`` run on ANN_JSON's images. Calibrate on
a split that is not the one you report (a train subset: data_doctor.py --subset); the output
says which file it calibrated on. Writes OUT_DIR/attr_decoder.json (for tools/test.py and
tools/infer.py --attr-decoder), sweep.csv and sweep.png. --evaluate only scores the given
decoder files (or 'default' for the config default) on the dump, side by side.
"""
import argparse
import csv
import json
import os
import os.path as osp
import sys

from fashionpedia_plugin.toolkit.cli import CLIError, run_cli


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('ann_file', help='annotations of the calibration images')
    p.add_argument('results_file', help='tools/test.py --out JSON of those images')
    p.add_argument('--scores', help='default: RESULTS.attr_scores.npz beside the results file')
    p.add_argument('--prior', help='attribute prior JSON or the train annotation file')
    p.add_argument(
        '--prior-mode',
        choices=['best', 'off', 'class', 'exclusive'],
        default='best',
        help='sweep with every prior setting (best) or only one of them')
    p.add_argument('--iou-type', choices=['segm', 'bbox'], default='segm')
    p.add_argument('--no-per-supercategory', action='store_true')
    p.add_argument('--out-dir', default='work_dirs/attr_calib')
    p.add_argument('--evaluate', nargs='+', metavar='DECODER', help='score these decoders only')
    a = p.parse_args(argv)
    scores = a.scores or osp.splitext(a.results_file)[0] + '.attr_scores.npz'
    checks = [(a.ann_file, 'annotation file'), (a.results_file, 'results file'),
              (scores, 'attribute-score dump (tools/test.py --attr-scores)'), (a.prior, 'prior')]
    checks += [(d, 'decoder file') for d in a.evaluate or [] if d != 'default']
    for path, what in checks:
        if path is not None and not osp.isfile(path):
            raise CLIError(f'{what} not found: {path}')
    from fashionpedia_plugin.toolkit.attribute_tuning import (ScoreDump, evaluate_decoders,
                                                              plot_sweep, tune)
    dump = ScoreDump(a.ann_file, a.results_file, scores, a.iou_type)
    if a.evaluate:
        print(f'{"decoder":<60} {"AP IoU+F1":>10} {"AP F1":>7} {"AP IoU":>7}')
        for name, views in evaluate_decoders(dump, a.evaluate):
            print(f'{name[-60:]:<60} {views["iou+f1"]["AP"]:>10.4f} {views["f1"]["AP"]:>7.4f} '
                  f'{views["iou"]["AP"]:>7.4f}')
        return 0
    print(f'calibrating on {a.ann_file} ({dump.num_images} images, {dump.num_results} '
          f'detections): tune on a split you do not report (e.g. a train subset)')
    if 'val' in osp.basename(a.ann_file) or 'test' in osp.basename(a.ann_file):
        print(
            'WARNING: this looks like the validation/test split; numbers reported on it with '
            'these settings are optimistic',
            file=sys.stderr)
    rows, best = tune(
        dump, a.prior, per_supercategory=not a.no_per_supercategory, prior_mode=a.prior_mode)
    print(f'\n{"setting":<40} {"prior":<24} {"thr":>6} {"AP IoU+F1":>10} {"AP F1":>7}')
    for r in rows:
        if r['setting'] == 'global':
            print(f'{r["setting"]:<40} {r["prior"]:<24} {r["threshold"]:>6g} {r["AP"]:>10.4f} '
                  f'{r["F1_AP"]:>7.4f}')
    os.makedirs(a.out_dir, exist_ok=True)
    with open(osp.join(a.out_dir, 'sweep.csv'), 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    plot_sweep(rows, osp.join(a.out_dir, 'sweep.png'))
    decoder = dict(
        best['decoder'],
        calibration=dict(ann_file=a.ann_file, iou_type=a.iou_type, AP_iouf1=round(best['AP'], 4)))
    out = osp.join(a.out_dir, 'attr_decoder.json')
    with open(out, 'w') as f:
        json.dump(decoder, f, indent=1)
    print(f'\nbest: {best["setting"]}, {best["prior"]}: {a.iou_type} AP with IoU+F1 '
          f'{best["AP"]:.4f} on {a.ann_file}')
    print(f'decoder -> {out} (tools/test.py / tools/infer.py --attr-decoder {out}); '
          f'sweep -> {a.out_dir}/sweep.csv, sweep.png')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
