"""Calibrate the attribute decoder on a dump of raw attribute scores (no model re-run).

``tools/test.py CONFIG CKPT --out preds.json --attr-scores`` writes ``preds.json`` (official
results format) and ``preds.attr_scores.npz`` (the (M, 294) scores in the same order). Here every
candidate decoding (global thresholds, with and without the class prior and exclusive groups,
then per-super-category thresholds) rewrites the ``attribute_ids`` of the loaded detections and
is scored with the vectorized evaluator; the IoU matrices are computed once and reused.
"""
import contextlib
import io
import os.path as osp

import numpy as np
from pycocotools.coco import COCO
from tqdm import tqdm

from .. import taxonomy
from ..datasets.attribute_prior import load_attribute_prior
from ..datasets.validation import FashionpediaDataError, load_annotation_json, load_json
from ..evaluation.functional import FashionpediaEval
from ..evaluation.functional.fp_columns import load_results
from ..models.task_modules import AttributeDecoder

# down to 0.002: with the official target (mean over RoIs x 294 attributes) the demo model's best
# threshold was at 0.01, the lower end of a grid starting there (docs/attributes.md, "Target x
# decoding x prior, measured")
GLOBAL_THRESHOLDS = (0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5,
                     0.6, 0.7, 0.8, 0.9)
SUPERCATEGORIES = tuple(sorted(set(taxonomy.ATTRIBUTE_SUPERCATEGORIES)))


class ScoreDump:
    """A results JSON + its attribute-score ``.npz``, loaded against the ground truth once."""

    def __init__(self, ann_file, results_file, scores_file, iou_type='segm'):
        gt = load_annotation_json(ann_file)
        results = load_json(results_file, 'results file')
        if not isinstance(results, list) or not results:
            raise FashionpediaDataError(f'{results_file}: expected a non-empty JSON list')
        try:
            npz = np.load(scores_file)
            scores, image_ids = npz['scores'], npz['image_id']
        except (OSError, KeyError, ValueError) as e:
            raise FashionpediaDataError(f'{scores_file}: not an attribute-score dump written by '
                                        f'tools/test.py --attr-scores ({e})') from None
        if len(scores) != len(results) or any(r['image_id'] != i
                                              for r, i in zip(results, image_ids.tolist())):
            raise FashionpediaDataError(
                f'{scores_file}: {len(scores)} score rows do not match the {len(results)} '
                f'results of {results_file} (written by another tools/test.py run?)')
        known = {img['id'] for img in gt['images']}
        unknown = sorted({r['image_id'] for r in results} - known)
        if unknown:
            raise FashionpediaDataError(f'{results_file}: image_id {unknown[0]} is not in '
                                        f'{ann_file} ({len(unknown)} such images): calibrate '
                                        'on the annotation file the dump was made from')
        with contextlib.redirect_stdout(io.StringIO()):
            self.coco_gt = COCO()
            self.coco_gt.dataset = gt
            self.coco_gt.createIndex()
        # loaded once as columns (as COCO.loadRes would); each decoding swaps the attributes
        self.columns = load_results(self.coco_gt, results, iou_type)
        self.num_results = len(results)
        self.scores = scores.astype(np.float32)
        self.category_ids = np.array([r['category_id'] for r in results])
        self.iou_type = iou_type
        self.num_images = len(gt['images'])
        self._iou_cache = {}

    def evaluate(self, decoder):
        """The three views (``iou+f1``, ``iou``, ``f1``) with ``decoder``'s attribute ids."""
        keep = decoder.keep_mask(self.scores, self.category_ids)
        dt = self.columns.with_attribute_mask(keep, taxonomy.ATTRIBUTE_IDS)
        return FashionpediaEval(self.coco_gt, dt, self.iou_type, self._iou_cache).run()


def evaluate_decoders(dump, specs):
    """[(spec, views)] for decoder JSON files (``'default'``: ``AttributeDecoder()``)."""
    out = []
    for spec in specs:
        decoder = AttributeDecoder() if spec == 'default' else AttributeDecoder.from_file(spec)
        out.append((spec, dump.evaluate(decoder)))
    return out


PRIOR_MODES = dict(off='no prior', **{'class': 'class prior'}, exclusive='class prior + exclusive')


def prior_variants(prior, mode='best'):
    """(name, decoder kwargs) of the prior settings to compare; ``mode`` ``best`` = all of
    them, else only ``off``, ``class`` or ``exclusive``."""
    out = [('no prior', dict(prior=None))]
    if prior is not None:
        out += [('class prior', dict(prior=prior, class_mask=True)),
                ('class prior + exclusive', dict(prior=prior, class_mask=True, exclusive=True))]
    if mode != 'best':
        out = [v for v in out if v[0] == PRIOR_MODES[mode]]
        if not out:
            raise FashionpediaDataError(f'prior mode {mode!r} needs a prior (--prior)')
    return out


def tune(dump,
         prior_path=None,
         thresholds=GLOBAL_THRESHOLDS,
         per_supercategory=True,
         progress=True,
         prior_mode='best'):
    """Sweep; returns ``(rows, best)``: rows ``dict(setting, prior, threshold, AP, F1-AP,
    IoU-AP)``, best ``dict(decoder=config dict, AP=...)`` by segm/bbox AP with IoU+F1."""
    prior = load_attribute_prior(prior_path) if prior_path else None
    variants = prior_variants(prior, prior_mode)
    total = len(variants) * len(thresholds) + (
        len(SUPERCATEGORIES) * len(thresholds) if per_supercategory else 0)
    bar = tqdm(total=total, desc='attribute decodings', unit='eval', disable=not progress)
    rows, best = [], None

    def run(setting, name, kwargs, score_thr, shown_thr):
        nonlocal best
        views = dump.evaluate(AttributeDecoder(score_thr=score_thr, **kwargs))
        bar.update()
        row = dict(
            setting=setting,
            prior=name,
            threshold=shown_thr,
            AP=views['iou+f1']['AP'],
            F1_AP=views['f1']['AP'],
            IoU_AP=views['iou']['AP'])
        rows.append(row)
        if best is None or row['AP'] > best['AP'] + 1e-12:
            cfg = AttributeDecoder(score_thr=score_thr, **kwargs).to_config()
            cfg['prior'] = osp.abspath(prior_path) if kwargs.get('prior') is not None else None
            best = dict(decoder=cfg, AP=row['AP'], prior=name, setting=setting)
        return row['AP']

    for name, kwargs in variants:
        for thr in thresholds:
            run('global', name, kwargs, float(thr), float(thr))
    if per_supercategory:
        # coordinate descent from the best global setting, one pass over the super-categories
        name = best['prior']
        kwargs = dict(variants)[name]
        base = best['decoder']['score_thr']
        current = dict(default=float(base), supercategory={})
        current_ap = best['AP']
        for sup in SUPERCATEGORIES:
            for thr in thresholds:
                trial = dict(
                    default=current['default'],
                    supercategory=dict(current['supercategory'], **{sup: float(thr)}))
                ap = run(f'super-category {sup}', name, kwargs, trial, float(thr))
                if ap > current_ap + 1e-12:
                    current, current_ap = trial, ap
    bar.close()
    return rows, best


def plot_sweep(rows, path):
    """AP with IoU+F1 vs global threshold, one line per prior setting (seaborn)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import seaborn as sns
    glob = [r for r in rows if r['setting'] == 'global']
    fig, ax = plt.subplots(figsize=(7, 4))
    sns.lineplot(
        x=[r['threshold'] for r in glob],
        y=[r['AP'] for r in glob],
        hue=[r['prior'] for r in glob],
        marker='o',
        ax=ax)
    ax.set_xscale('log')
    ax.set_xlabel('attribute score threshold (global)')
    ax.set_ylabel('AP with IoU+F1')
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
