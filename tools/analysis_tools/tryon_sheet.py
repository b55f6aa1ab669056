"""One picture of a photo's files in each consumer layout of an export (tools/infer.py --format).

  python tools/analysis_tools/tryon_sheet.py OUT_DIR NAME sheet.png [--category upper_body]

NAME: the photo's exported name (``export_name`` in garments/<stem>.json).
"""
import argparse
import sys

from fashionpedia_plugin.toolkit.cli import run_cli


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('out_dir')
    p.add_argument('name')
    p.add_argument('out')
    p.add_argument(
        '--category', default='upper_body', choices=['upper_body', 'lower_body', 'dresses'])
    a = p.parse_args(argv)
    from fashionpedia_plugin.toolkit.tryon_sheet import write_sheet
    print(f'{write_sheet(a.out_dir, a.name, a.out, category=a.category)} layout(s) -> {a.out}')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
