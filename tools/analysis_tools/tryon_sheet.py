"""One picture of a photo's files in each consumer layout of an export (tools/infer.py --format).

  python tools/analysis_tools/tryon_sheet.py OUT_DIR NAME sheet.png [--category upper_body]
  python tools/analysis_tools/tryon_sheet.py OUT_DIR STEM overview.png --overview

NAME: the photo's exported name (``export_name`` in garments/<stem>.json); with --overview, the
photo's stem: photo, overlay, parse map and merged garments.
"""
import argparse
import sys

from fashionpedia_plugin.toolkit.cli import output_file, run_cli


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('out_dir')
    p.add_argument('name')
    p.add_argument('out')
    p.add_argument(
        '--category', default='upper_body', choices=['upper_body', 'lower_body', 'dresses'])
    p.add_argument(
        '--format',
        nargs='+',
        default=['vitonhd', 'idm-vton', 'dresscode'],
        choices=['vitonhd', 'idm-vton', 'dresscode'],
        help='the layouts shown')
    p.add_argument('--overview', action='store_true', help='the photo\'s overview instead')
    a = p.parse_args(argv)
    output_file(a.out, ('.png', '.jpg', '.jpeg'))
    from fashionpedia_plugin.toolkit.tryon_sheet import write_overview, write_sheet
    if a.overview:
        print(f'{write_overview(a.out_dir, a.name, a.out)} tile(s) -> {a.out}')
    else:
        n = write_sheet(a.out_dir, a.name, a.out, tuple(a.format), a.category)
        print(f'{n} layout(s) -> {a.out}')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
