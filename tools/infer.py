"""Garment masks for the try-on system: overlays, masks, cut-outs, label maps, try-on layouts.

  python tools/infer.py IMAGES CONFIG CHECKPOINT [--out-dir work_dirs/infer] [--score-thr 0.3]
      [--format instances|parse|vitonhd|idm-vton|dresscode|tags ...] [--category upper_body]
      [--human-parse DIR]
      [--agnostic-margin 10] [--part-overlap 0.5] [--batch-size 1] [--resume] [--html]
      [--classes garments | ID | NAME ...] [--attr-decoder tuned.json] [--device auto|cpu|cuda]
      [--cloth-min-score S] [--allow-partial] [--trust-checkpoint] [--cfg-options k=v ...]

IMAGES: an image file, a folder, a glob ('photos/*.jpg') or a .txt list (one path per line,
relative to the list file). Attributes are decoded as tools/test.py does (the config's
test_evaluator.attr_decoder, or --attr-decoder). --classes garments keeps the main garments
(ids 0-12: shirt .. cape); names may be the first part of the official name ('pants').
A photo that cannot be read or predicted prints one 'error: PATH: WHY' line and the others go
on; the run ends with a summary line (done / skipped / failed, images/s) and exit code 1 if any
photo failed. Layouts of each format: docs/tryon.md, "Formats".
"""
import argparse
import json
import sys

from tqdm import tqdm

from fashionpedia_plugin.toolkit.cli import CLIError, OptionsAction, run_cli, trust_checkpoint_arg


def main(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('images', help='image file, folder, glob or .txt list of paths')
    p.add_argument('config', help='config file')
    p.add_argument('checkpoint', help='checkpoint file')
    p.add_argument('--out-dir', default='work_dirs/infer', help='output folder')
    p.add_argument(
        '--score-thr',
        type=float,
        default=0.3,
        help='least score of an exported instance (the model predicts nothing under its own '
        'model.test_cfg.rcnn.score_thr, 0.05 in the configs here)')
    p.add_argument('--classes', nargs='+', help="'garments', class ids or names to keep")
    p.add_argument('--attr-decoder', help='attribute decoder JSON (tune_attributes.py output)')
    p.add_argument(
        '--device',
        default='auto',
        help='cpu, cuda or cuda:N; auto: cuda when torch sees a GPU, else cpu (as mmdet\'s '
        'DetInferencer)')
    p.add_argument(
        '--format',
        nargs='+',
        default=['instances'],
        help='instances (overlay, masks, cut-outs, JSON), parse (CIHP label map), vitonhd '
        '(VITON-HD test folder), idm-vton (IDM-VTON data_dir), dresscode (DressCode categories), '
        'tags (IDM-VTON captions); several allowed, space- or comma-separated')
    p.add_argument(
        '--human-parse',
        help='folder of human-parsing label maps, one NAME.png per photo (CIHP/LIP ids 0-19, '
        'e.g. from Self-Correction-Human-Parsing): body regions of the parse maps; garments '
        'stay ours')
    p.add_argument(
        '--category',
        default='upper_body',
        choices=['upper_body', 'lower_body', 'dresses'],
        help='the garment written as the VITON-HD / IDM-VTON cloth and agnostic mask')
    p.add_argument(
        '--agnostic-margin', type=int, default=10, help='px the agnostic mask is dilated by')
    p.add_argument(
        '--part-overlap',
        type=float,
        default=0.5,
        help='least fraction of a part inside a garment to attach it')
    p.add_argument(
        '--cloth-min-score',
        type=float,
        default=0.5,
        help='least score of a garment exported as a try-on cloth (lower ones are reported as '
        'held back)')
    p.add_argument('--batch-size', type=int, default=1, help='images per model call')
    p.add_argument('--resume', action='store_true', help='skip images already written')
    p.add_argument('--html', action='store_true', help='write index.html (a static gallery)')
    p.add_argument(
        '--allow-partial',
        action='store_true',
        help='load a checkpoint that does not '
        'fit the model (with a warning) instead of stopping')
    p.add_argument(
        '--cfg-options',
        nargs='+',
        action=OptionsAction,
        help='override config settings, e.g. model.test_cfg.rcnn.score_thr=0.1')
    trust_checkpoint_arg(p)
    a = p.parse_args(argv)
    import os.path as osp

    from fashionpedia_plugin.apis import FashionpediaInferencer, inference_config
    from fashionpedia_plugin.tryon import collect_images, parse_classes, parse_formats, run_batch
    for path, what in ((a.config, 'config'), (a.checkpoint, 'checkpoint'),
                       (a.attr_decoder, 'attribute decoder file')):
        if path is not None and not osp.isfile(path):
            raise CLIError(f'{what} not found: {path}')
    try:
        keep = parse_classes(a.classes)
        formats = parse_formats(a.format)
    except ValueError as e:
        raise CLIError(str(e)) from None
    if a.batch_size < 1:
        raise CLIError(f'--batch-size must be >= 1, got {a.batch_size}')
    if a.human_parse and not osp.isdir(a.human_parse):
        raise CLIError(f'--human-parse: not a folder: {a.human_parse}')
    paths = collect_images(a.images)
    from fashionpedia_plugin.toolkit.cli import load_config
    cfg = inference_config(load_config(a.config, a.cfg_options))
    model_thr = ((cfg.model.get('test_cfg') or {}).get('rcnn') or {}).get('score_thr')
    if model_thr is not None and a.score_thr < model_thr:
        print(
            f'warning: --score-thr {a.score_thr:g} is below the model\'s own '
            f'model.test_cfg.rcnn.score_thr {model_thr:g}, under which it predicts nothing; '
            f'to export lower scores add --cfg-options model.test_cfg.rcnn.score_thr='
            f'{a.score_thr:g}',
            file=sys.stderr)
    inferencer = FashionpediaInferencer(
        cfg,
        a.checkpoint,
        device=None if a.device == 'auto' else a.device,  # None: mmengine's get_device()
        attr_decoder=a.attr_decoder,
        allow_partial=a.allow_partial,
        trust_checkpoint=a.trust_checkpoint,
        show_progress=False)

    def report(path, why):
        tqdm.write(f'error: {path}: {why}', file=sys.stderr)

    provenance = dict(
        checkpoint=osp.basename(a.checkpoint),
        checkpoint_sha256=sha256(a.checkpoint),
        config=osp.abspath(a.config),
        attr_decoder=json.dumps(
            inferencer.attr_decoder.to_config(),
            sort_keys=True,
            default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))

    try:
        summary = run_batch(
            inferencer,
            paths,
            a.out_dir,
            formats,
            a.score_thr,
            keep,
            batch_size=a.batch_size,
            resume=a.resume,
            html=a.html,
            category=a.category,
            agnostic_margin=a.agnostic_margin,
            min_overlap=a.part_overlap,
            on_error=report,
            human_parse=a.human_parse,
            provenance=provenance,
            cloth_min_score=a.cloth_min_score)
    except ValueError as e:  # e.g. two photos with the same name
        raise CLIError(str(e)) from None
    for note in summary.notes:  # once per run: what the consumers need that we do not write
        print(f'note: {note}')
    for path, cat, name, score, why in summary.held_back:
        print(f'held back: {path}: {cat} cloth {name!r} ({score:.2f}): {why}')
    print(summary.line(a.out_dir))
    return 1 if summary.failed else 0


def sha256(path, chunk=1 << 20):
    import hashlib
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            h.update(block)
    return h.hexdigest()


if __name__ == '__main__':
    sys.exit(run_cli(main))
