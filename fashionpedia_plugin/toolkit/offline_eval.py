"""Offline evaluation of a results file in the official format (COCO results + attribute_ids)."""
import contextlib
import io

from ..datasets.validation import FashionpediaDataError, load_json
from ..evaluation.functional import FashionpediaEval
from ..evaluation.functional.fp_columns import load_results

VIEWS = ('iou+f1', 'iou', 'f1')


def _check_results(gt, ann_file, results, results_file, iou_type, missing_attributes):
    if not isinstance(results, list):
        raise FashionpediaDataError(f'{results_file}: expected a JSON list of results')
    if not results:
        raise FashionpediaDataError(f'{results_file}: no results to evaluate')
    key = 'segmentation' if iou_type == 'segm' else 'bbox'
    no_key = [i for i, r in enumerate(results) if key not in r]
    if no_key:
        raise FashionpediaDataError(f'{results_file}: result #{no_key[0]} has no {key!r} '
                                    f'({len(no_key)} such results)')
    no_attr = [i for i, r in enumerate(results) if 'attribute_ids' not in r]
    if no_attr and missing_attributes == 'error':
        raise FashionpediaDataError(f'{results_file}: result #{no_attr[0]} has no '
                                    f'"attribute_ids" ({len(no_attr)} such results)')
    for i in no_attr:  # a model without an attribute head predicts none
        results[i]['attribute_ids'] = []
    img_ids = {img['id'] for img in gt['images']}
    unknown = [r['image_id'] for r in results if r.get('image_id') not in img_ids]
    if unknown:
        raise FashionpediaDataError(f'{results_file}: image_id {unknown[0]} is not in '
                                    f'{ann_file} ({len(unknown)} such results)')
    return len(no_attr)


def load_gt(ann_file):
    gt = load_json(ann_file, 'annotation file')
    if 'attributes' not in gt:
        raise FashionpediaDataError(f'{ann_file}: no "attributes" list (not the official format)')
    return gt


def evaluate_files(ann_file,
                   results_file,
                   iou_type='segm',
                   reference=False,
                   report=None,
                   heatmap=None):
    """Returns ``{"iou+f1": {...}, "iou": {...}, "f1": {...}}`` keyed by official summary keys.

    ``reference=True`` runs the official ``fashionpedia.FPEval`` (slow; numpy alias patched at
    run time, see ``compat.numpy_float_alias``) instead of the vectorized evaluator.
    ``report`` (``.md``/``.csv``) and ``heatmap`` (``.png``): the attribute report of
    :mod:`.attribute_report` (vectorized evaluator only).
    """
    gt = load_gt(ann_file)
    results = load_json(results_file, 'results file')
    _check_results(gt, ann_file, results, results_file, iou_type, 'error')
    with contextlib.redirect_stdout(io.StringIO()):
        if reference:
            from fashionpedia.fp import Fashionpedia
            from fashionpedia.fp_eval import FPEval

            from ..compat import numpy_float_alias
            with numpy_float_alias():
                fp_gt = Fashionpedia()
                fp_gt.dataset = gt
                fp_gt.createIndex()
                ev = FPEval(fp_gt, fp_gt.loadRes(results), iou_type)
                ev.run()
            return {'iou+f1': dict(ev.results), 'iou': dict(ev.resultDet), 'f1': dict(ev.resultF1)}
        from pycocotools.coco import COCO
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
    ev = FashionpediaEval(coco_gt, load_results(coco_gt, results, iou_type), iou_type)
    views = ev.run()
    if report or heatmap:
        from . import attribute_report as ar
        with contextlib.redirect_stdout(io.StringIO()):
            coco_dt = coco_gt.loadRes(results)
        pairs = ar.match_pairs(coco_gt, coco_dt, iou_type)
        if report:
            names = [c['name'] for c in coco_gt.loadCats(ev.params.catIds)]
            per_class = {
                name: (e.get('iou_f1', {}).get('AP'), e['iou']['AP'])
                for name, e in ev.summarize_per_class(names).items() if e['iou']['AP'] >= 0
            }
            ar.write_report(ar.report_rows(pairs), per_class, report)
        if heatmap:
            ar.plot_heatmap(pairs, heatmap)
    return views


def bootstrap_files(ann_file,
                    results_files,
                    iou_type='segm',
                    num_resamples=1000,
                    seed=0,
                    missing_attributes='empty'):
    """Paired bootstrap (``evaluation.functional.bootstrap``) of results files on one annotation
    file. Results without ``attribute_ids`` count as predicting none (``missing_attributes=
    'empty'``; the number is reported) or raise (``'error'``).

    Returns ``(bootstrap dict, [views per file], [results without attribute_ids per file])``.
    """
    from pycocotools.coco import COCO

    from ..evaluation.functional.bootstrap import paired_bootstrap
    gt = load_gt(ann_file)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
    evaluators, views, no_attr = [], [], []
    for path in results_files:
        results = load_json(path, 'results file')
        no_attr.append(_check_results(gt, ann_file, results, path, iou_type, missing_attributes))
        ev = FashionpediaEval(coco_gt, load_results(coco_gt, results, iou_type), iou_type)
        views.append(ev.run())
        evaluators.append(ev)
    return paired_bootstrap(evaluators, num_resamples, seed), views, no_attr


def format_bootstrap(out, names):
    """Markdown table: each run's headline values (x100) with intervals, and each later run's
    paired difference to the first with its interval, P(better) and verdict."""
    from ..evaluation.functional.bootstrap import HEADLINE, HEADLINE_NAMES, verdict
    conf = f'{out["confidence"]:.0%}'
    head = ['metric'] + [f'{n} [{conf}]' for n in names]
    head += [f'{n} - {names[0]}' for n in names[1:]]
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for key in HEADLINE:
        cells = [HEADLINE_NAMES[key]]
        for run in out['runs']:
            v = run[key]
            cells.append(f'{100 * v["value"]:.1f} [{100 * v["lower"]:.1f}, {100 * v["upper"]:.1f}]')
        for d in out['deltas']:
            cells.append(f'{verdict(d[key]).replace("B ", "")}; P(better) '
                         f'{d[key]["prob_better"]:.0%}')
        lines.append('| ' + ' | '.join(cells) + ' |')
    lines.append(f'\nPaired bootstrap over {out["num_images"]} images, {out["num_resamples"]} '
                 f'resamples (seed {out["seed"]}); AP x 100, percentile intervals.')
    return '\n'.join(lines)


def format_table(views):
    keys = list(views['iou'])
    for v in VIEWS:
        keys += [k for k in views[v] if k not in keys]
    lines = [f'{"metric":<16}' + ''.join(f'{v:>10}' for v in VIEWS)]
    for k in keys:
        cells = ''.join(f'{views[v][k]:>10.4f}' if k in views[v] else f'{"-":>10}' for v in VIEWS)
        lines.append(f'{k:<16}{cells}')
    return '\n'.join(lines)
