"""Check a Fashionpedia annotation file and its images before training; or cut a mini subset.

  python tools/analysis_tools/data_doctor.py ANN_JSON IMG_DIR [--data-root DIR] [--fast | --full]
      [--max-report N]
  python tools/analysis_tools/data_doctor.py ANN_JSON --subset N [--random --seed S] --out FILE

Checks the rules the loader applies (the same code as FashionpediaDataset's start-up check) and
the image files: --fast only stats them, the default reads their headers, --full decodes every
image as the loader does and every compressed RLE mask. Prints the usable and skipped instance
counts (by reason), the same the training log shows at start; with errors also the annotations
that have one (usable + skipped + with errors = the file's annotations), and that the dataset
refuses the file.
Exit code: 0 clean (warnings allowed), 1 errors found, 2 bad arguments / unreadable JSON.
"""
import argparse
import json
import sys
from collections import Counter

from fashionpedia_plugin.datasets.validation import FashionpediaDataError, load_annotation_json
from fashionpedia_plugin.toolkit.doctor import diagnose, make_subset, statistics_table


def main(argv=None):
    p = argparse.ArgumentParser(description='Fashionpedia data doctor')
    p.add_argument('ann_file', help='instances_attributes_*.json')
    p.add_argument('img_dir', nargs='?', help='the folder the file_names are relative to')
    p.add_argument(
        '--data-root', help="the config's data_root: hints give data_prefix relative to it")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument('--fast', action='store_true', help='images: existence only')
    mode.add_argument(
        '--full',
        '--full-decode',
        action='store_true',
        help='decode every image and every compressed RLE (slow)')
    p.add_argument('--max-report', type=int, default=20, help='problems listed per kind')
    p.add_argument('--subset', type=int, help='write the first N images (and annotations)')
    p.add_argument('--random', action='store_true', help='--subset picks N random images')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', help='output JSON for --subset')
    a = p.parse_args(argv)
    try:
        data = load_annotation_json(a.ann_file)
    except FashionpediaDataError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    if a.subset is not None:
        if not a.out:
            print('error: --subset needs --out FILE', file=sys.stderr)
            return 2
        sub = make_subset(data, a.subset, a.random, a.seed)
        from fashionpedia_plugin.toolkit.cli import output_file
        with open(output_file(a.out), 'w') as f:
            json.dump(sub, f)
        print(f'wrote {len(sub["images"])} images, {len(sub["annotations"])} annotations '
              f'to {a.out}')
        return 0
    if not a.img_dir:
        print('error: IMG_DIR is required to check images', file=sys.stderr)
        return 2
    mode = 'fast' if a.fast else 'full' if a.full else 'default'
    findings, report = diagnose(data, a.ann_file, a.img_dir, mode, data_root=a.data_root)
    errors = [f for f in findings if f.severity == 'error']
    warnings = [f for f in findings if f.severity == 'warning']
    print(statistics_table(data))
    for title, items in (('ERRORS', errors), ('WARNINGS', warnings)):
        if not items:
            continue
        kinds = Counter(f.kind for f in items)
        print(f'\n{title}: ' + ', '.join(f'{n} {k}' for k, n in kinds.items()))
        shown = Counter()
        for f in items:
            shown[f.kind] += 1
            if shown[f.kind] <= a.max_report:
                print(f'  [{f.kind}] {f.message}')
    print('\n' + summary_line(report, errors))
    print(f'{"FAILED" if errors else "OK"}: {len(errors)} error(s), {len(warnings)} warning(s) '
          f'in {a.ann_file}')
    return 1 if errors else 0


def summary_line(report, errors):
    """``usable instances: U; skipped: S (...)``, the line the dataset logs at start; with errors
    also the annotations that have one (neither usable nor skipped) and that the dataset refuses
    the file: usable + skipped + with errors = the annotations of the file."""

    def counts(counter):
        return ' (' + ', '.join(f'{n} {r}' for r, n in counter.most_common()) + ')' \
            if counter else ''

    skipped, invalid = report.skipped, report.invalid
    line = f'usable instances: {report.usable}; skipped: {sum(skipped.values())}{counts(skipped)}'
    if invalid:
        line += f'; with errors: {sum(invalid.values())}{counts(invalid)}'
    if errors:
        line += '; the dataset refuses this file until the errors are fixed'
    return line


if __name__ == '__main__':
    sys.exit(main())
