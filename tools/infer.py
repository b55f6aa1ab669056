"""Garment masks for the try-on system: overlays, per-instance masks, RGBA cut-outs, JSON.

  python tools/infer.py IMAGES CONFIG CHECKPOINT [--out-dir work_dirs/infer] [--score-thr 0.3]
      [--classes garments | ID | NAME ...] [--attr-decoder tuned.json] [--device cpu|cuda:0]
      [--cfg-options k=v ...]

IMAGES: an image file, a folder or a glob ('photos/*.jpg'). Attributes are decoded as
tools/test.py does (the config's test_evaluator.attr_decoder, or --attr-decoder). --classes
garments keeps the main garments (ids 0-12: shirt .. cape); names may be the first part of the
official name ('pants').
"""
import argparse
import sys

from mmengine.config import DictAction
from tqdm import tqdm

from fashionpedia_plugin.toolkit.cli import CLIError, run_cli


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('images')
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--out-dir', default='work_dirs/infer')
    p.add_argument('--score-thr', type=float, default=0.3)
    p.add_argument('--classes', nargs='+', help="'garments', class ids or names to keep")
    p.add_argument('--attr-decoder', help='attribute decoder JSON (tune_attributes.py output)')
    p.add_argument('--device', default='cpu')
    p.add_argument(
        '--allow-partial',
        action='store_true',
        help='load a checkpoint that does not '
        'fit the model (with a warning) instead of stopping')
    p.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. model.test_cfg.rcnn.score_thr=0.1')
    a = p.parse_args(argv)
    import os.path as osp

    from fashionpedia_plugin.apis import (build_attr_decoder, collect_images, export_image,
                                          init_model, parse_classes)
    for path, what in ((a.config, 'config'), (a.checkpoint, 'checkpoint'),
                       (a.attr_decoder, 'attribute decoder file')):
        if path is not None and not osp.isfile(path):
            raise CLIError(f'{what} not found: {path}')
    try:
        keep = parse_classes(a.classes)
    except ValueError as e:
        raise CLIError(str(e)) from None
    paths = collect_images(a.images)
    from fashionpedia_plugin.toolkit.cli import load_config
    cfg = load_config(a.config, a.cfg_options)
    model = init_model(cfg, a.checkpoint, a.device, a.allow_partial)
    decoder = build_attr_decoder(cfg, a.attr_decoder)
    n = 0
    failed = []
    for path in tqdm(paths, desc='infer', unit='img'):
        try:
            n += len(export_image(model, path, a.out_dir, a.score_thr, keep, decoder)['instances'])
        except ValueError as e:
            failed.append(str(e))
    print(f'{len(paths) - len(failed)} image(s), {n} instance(s) -> {a.out_dir}/<image>/')
    for msg in failed:
        print(f'skipped: {msg}', file=sys.stderr)
    return 1 if failed and len(failed) == len(paths) else 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
