"""Garment masks for the try-on system: overlays, per-instance masks, RGBA cut-outs, JSON.

  python tools/infer.py IMAGES CONFIG CHECKPOINT [--out-dir work_dirs/infer] [--score-thr 0.3]
      [--classes garments | ID | NAME ...] [--device cpu|cuda:0] [--cfg-options k=v ...]

IMAGES: an image file, a folder or a glob ('photos/*.jpg'). --classes garments keeps the main
garments (ids 0-12: shirt .. cape); names may be the first part of the official name ('pants').
"""
import argparse
import sys

from mmengine.config import DictAction
from tqdm import tqdm

from fashionpedia_plugin.engine.launch import CLIError, run_cli


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('images')
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--out-dir', default='work_dirs/infer')
    p.add_argument('--score-thr', type=float, default=0.3)
    p.add_argument('--classes', nargs='+', help="'garments', class ids or names to keep")
    p.add_argument('--device', default='cpu')
    p.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. model.test_cfg.rcnn.score_thr=0.1')
    a = p.parse_args(argv)
    import os.path as osp

    from fashionpedia_plugin.apis import collect_images, export_image, init_model, parse_classes
    for path, what in ((a.config, 'config'), (a.checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            raise CLIError(f'{what} not found: {path}')
    try:
        keep = parse_classes(a.classes)
    except ValueError as e:
        raise CLIError(str(e)) from None
    paths = collect_images(a.images)
    from fashionpedia_plugin.engine.launch import load_config
    model = init_model(load_config(a.config, a.cfg_options), a.checkpoint, a.device)
    n = 0
    failed = []
    for path in tqdm(paths, desc='infer', unit='img'):
        try:
            n += len(export_image(model, path, a.out_dir, a.score_thr, keep)['instances'])
        except ValueError as e:
            failed.append(str(e))
    print(f'{len(paths) - len(failed)} image(s), {n} instance(s) -> {a.out_dir}/<image>/')
    for msg in failed:
        print(f'skipped: {msg}', file=sys.stderr)
    return 1 if failed and len(failed) == len(paths) else 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
