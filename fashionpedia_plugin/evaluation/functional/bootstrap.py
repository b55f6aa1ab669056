"""Paired bootstrap over images of the headline metrics: is run B really better than run A?

Resampling the evaluated images with replacement is the same as counting each image as often as
it was drawn, so the per-image matching of :class:`FashionpediaEval` is computed once per run and
only the accumulation is repeated, with the draw's counts as image weights
(``fp_accumulate.bootstrap_headline``). Runs are paired: every resample uses the same images for
all runs, so the interval of B - A leaves out the image-to-image variance both runs share.

With all weights 1 the values are the evaluator's own (``coco_mAP`` = ``COCOeval.stats[0]``,
``AP_iouf1`` = ``results['AP']``, ``AP_iou`` = ``resultDet['AP']``, ``AP_f1`` =
``resultF1['AP']``; tested). The interval is the percentile interval of the resampled values
(our choice: the one ``hotcoco.compare`` reports; the plain COCO deltas agree with it in
``tests/test_bootstrap.py``).
"""
import numpy as np

from . import fp_accumulate as acc

HEADLINE = ('coco_mAP', 'AP_iouf1', 'AP_iou', 'AP_f1')
HEADLINE_NAMES = {
    'coco_mAP': 'COCO mAP',
    'AP_iouf1': 'AP IoU+F1',
    'AP_iou': 'AP IoU',
    'AP_f1': 'AP F1'
}


def resample_weights(num_images, num_resamples, seed=0, distinct=False):
    """(B, images) counts of B draws of ``num_images`` images with replacement.

    ``distinct=True``: 1 for every image drawn at least once, 0 otherwise, as ``hotcoco.compare``
    resamples (hotcoco ``crates/hotcoco/src/eval/compare.rs``, ``bootstrap_compare``: the draw
    is "deduplicated into a HashSet"); its intervals come out narrower than the classical
    bootstrap's, which is our default.
    """
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(num_images, np.full(num_images, 1.0 / num_images), size=num_resamples)
    return (counts > 0 if distinct else counts).astype(np.float64)


def headline_values(evaluator, weights):
    """(B, 4) headline metrics (``HEADLINE`` order) of an evaluated :class:`FashionpediaEval`
    for each row of image weights (images in ``evaluator.params.imgIds`` order)."""
    m, p = evaluator.match, evaluator.params
    if m is None:
        raise RuntimeError('call evaluate() before the bootstrap')
    weights = np.ascontiguousarray(np.atleast_2d(weights), np.float64)
    if weights.shape[1] != m['n_img']:
        raise ValueError(f'{weights.shape[1]} image weights for {m["n_img"]} evaluated images')
    area = list(p.areaRngLbl).index('all')
    if 'headline_slots' not in m:  # once per evaluation; each resample reuses it
        C = len(m['area_lo']) * m['T'] * m['F1']
        m['headline_slots'] = acc.headline_slots(m['order'], m['cat_ptr'], m['rank'], m['d_img'],
                                                 m['d_area'], m['area_lo'][area],
                                                 m['area_hi'][area], m['codes'], m['mq'],
                                                 m['mcat_ptr'], m['T'], m['F1'], C, m['cat_attr'],
                                                 int(p.maxDets[-1]), area)
    return acc.bootstrap_headline(*m['headline_slots'], m['grp_cat'], m['grp_img'], m['num_gt'],
                                  area, np.asarray(p.recThrs, np.float64), weights)


def _interval(samples, confidence):
    lo, hi = np.percentile(samples, [50 * (1 - confidence), 50 * (1 + confidence)], axis=0)
    return lo, hi


def paired_bootstrap(evaluators, num_resamples=1000, seed=0, confidence=0.95, distinct=False):
    """Values with intervals for each run, and paired differences of each run against the first.

    Args:
        evaluators (list[FashionpediaEval]): evaluated (``evaluate()``) on the same images.
        distinct (bool): resample as ``hotcoco.compare`` does (see ``resample_weights``).

    Returns:
        dict: ``runs``: per run ``{metric: {value, lower, upper}}``; ``deltas``: per run after the
        first ``{metric: {delta, lower, upper, prob_better, std_err}}`` (``prob_better``: the
        fraction of resamples in which that run beats the first); ``num_resamples``, ``seed``,
        ``confidence``, ``num_images``.
    """
    first = evaluators[0]
    img_ids = list(first.params.imgIds)
    for i, ev in enumerate(evaluators[1:], 1):
        if list(ev.params.imgIds) != img_ids:
            raise ValueError(f'run {i} was evaluated on other images than run 0 '
                             f'({len(ev.params.imgIds)} vs {len(img_ids)}): a paired comparison '
                             'needs the same images')
    weights = resample_weights(len(img_ids), num_resamples, seed, distinct)
    ones = np.ones((1, len(img_ids)))
    points = [headline_values(ev, ones)[0] for ev in evaluators]
    samples = [headline_values(ev, weights) for ev in evaluators]
    out = dict(
        runs=[],
        deltas=[],
        num_resamples=num_resamples,
        seed=seed,
        confidence=confidence,
        distinct=distinct,
        num_images=len(img_ids))
    for point, sample in zip(points, samples):
        lo, hi = _interval(sample, confidence)
        out['runs'].append({
            name: dict(value=float(point[j]), lower=float(lo[j]), upper=float(hi[j]))
            for j, name in enumerate(HEADLINE)
        })
    for point, sample in zip(points[1:], samples[1:]):
        diff = sample - samples[0]
        lo, hi = _interval(diff, confidence)
        out['deltas'].append({
            name:
            dict(
                delta=float(point[j] - points[0][j]),
                lower=float(lo[j]),
                upper=float(hi[j]),
                prob_better=float(np.mean(diff[:, j] > 0)),
                std_err=float(np.std(diff[:, j], ddof=1)) if num_resamples > 1 else 0.0)
            for j, name in enumerate(HEADLINE)
        })
    return out


def verdict(delta, scale=100.0):
    """One line per metric: ``"B better: +0.8 [0.3, 1.3]"`` or ``"no difference shown"``."""
    d, lo, hi = (delta[k] * scale for k in ('delta', 'lower', 'upper'))
    span = f'{d:+.1f} [{lo:+.1f}, {hi:+.1f}]'
    if lo > 0:
        return f'B better: {span}'
    if hi < 0:
        return f'B worse: {span}'
    return f'no difference shown: {span}'
