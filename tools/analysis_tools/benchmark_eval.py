"""Benchmark: the COCO evaluators (pycocotools, faster-coco-eval, hotcoco) and this project's
IoU+F1 evaluator (three views) side by side, + the official FPEval as the reference.

  python tools/analysis_tools/benchmark_eval.py [--num-images 1158] [--dets 100] [--gts 8]
      [--iou-types segm bbox] [--skip-reference] [--bootstrap 1000] [--repeat 3] [--warmup 1]

Val-scale synthetic workload (default: 1,158 images like Fashionpedia val, 46 classes, ~8 ground
truths and ~100 detections per image, official attribute ids). Every evaluator runs on the same
data in this one process, one after the other (evaluate + accumulate + summarize); loading the
results is timed apart (pycocotools ``loadRes``, hotcoco ``load_res``, ours
``fp_columns.load_results`` + the ground truth's columns). Each evaluator runs ``--warmup``
untimed times, then ``--repeat`` timed times, and the median is printed (the first run in a
process pays for first touching its memory; it is printed for hotcoco and ours); the official
one runs once. The script prints seconds, ratios to hotcoco, whether the COCO
evaluators' 12 numbers equal pycocotools', and the largest difference between our summary
numbers and the official ones. A COCO evaluator that is not installed is reported as such.
Before the timed runs, one tiny evaluation loads our compiled kernels (numba; compiled on the
first use after an install and cached): that time is printed apart. Then the paired bootstrap:
--bootstrap resamples of two runs (the workload and a perturbed copy), against one plain
evaluation of ours.
"""
import argparse
import contextlib
import copy
import io
import statistics
import time

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from fashionpedia_plugin.compat import numpy_float_alias
from fashionpedia_plugin.evaluation.functional import FashionpediaEval
from fashionpedia_plugin.evaluation.functional.bootstrap import paired_bootstrap
from fashionpedia_plugin.evaluation.functional.fp_columns import ground_truth_columns, load_results
from fashionpedia_plugin.toolkit.eval_cases import make_case

LOAD = {}  # seconds to load the results (and our ground-truth columns), per run

FIRST = {}  # seconds of each evaluator's first (warm-up) run in this process


def median_of(warmup, repeat, fn, *args):
    """``warmup`` untimed runs of ``fn(*args)``, then ``repeat`` timed ones: (median seconds,
    the last run's other outputs). The first run's time goes to ``FIRST``."""
    first, before = None, {k: len(v) for k, v in LOAD.items()}
    for _ in range(warmup):
        t = fn(*args)[0]
        first = t if first is None else first
    for key in LOAD:  # loading times of the timed runs only
        del LOAD[key][before.get(key, 0):]
    runs = [fn(*args) for _ in range(repeat)]
    FIRST[fn.__name__] = first if first is not None else runs[0][0]
    return (statistics.median(r[0] for r in runs), *runs[-1][1:])


def _load(key):
    return statistics.median(LOAD[key]) if LOAD.get(key) else float('nan')


def _coco(gt):
    with contextlib.redirect_stdout(io.StringIO()):
        c = COCO()
        c.dataset = copy.deepcopy(gt)
        c.createIndex()
    return c


def time_cocoeval(gt, res, iou_type):
    with contextlib.redirect_stdout(io.StringIO()):
        g = _coco(gt)
        res = copy.deepcopy(res)
        t = time.perf_counter()
        d = g.loadRes(res)
        LOAD.setdefault('pycocotools', []).append(time.perf_counter() - t)
        t = time.perf_counter()
        ev = COCOeval(g, d, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return time.perf_counter() - t, list(ev.stats)


def _plain(res, iou_type):
    """As CocoMetric: segm results without bbox (mask area decides small/medium/large)."""
    return [{k: v for k, v in r.items() if not (iou_type == 'segm' and k == 'bbox')} for r in res]


def time_hotcoco(gt, res, iou_type):
    try:
        import hotcoco
    except ImportError:
        return float('nan'), None
    g = hotcoco.COCO(copy.deepcopy(gt))
    res = copy.deepcopy(res)
    t = time.perf_counter()
    d = g.load_res(res)
    LOAD.setdefault('hotcoco', []).append(time.perf_counter() - t)
    with contextlib.redirect_stdout(io.StringIO()):
        t = time.perf_counter()
        ev = hotcoco.COCOeval(g, d, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return time.perf_counter() - t, list(ev.stats)


def time_faster(gt, res, iou_type):
    try:
        from faster_coco_eval import COCO as FCOCO
        from faster_coco_eval import COCOeval_faster
    except ImportError:
        return float('nan'), None
    with contextlib.redirect_stdout(io.StringIO()):
        g = FCOCO(copy.deepcopy(gt))
        d = g.loadRes(copy.deepcopy(res))
        t = time.perf_counter()
        ev = COCOeval_faster(g, d, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return time.perf_counter() - t, list(ev.stats)


def time_ours(gt, res, iou_type):
    """Loaded as the others (results by ``load_results``, the ground truth's columns once):
    the evaluation alone is timed; the loading times go to ``LOAD``."""
    g = _coco(gt)
    res = copy.deepcopy(res)
    t = time.perf_counter()
    ground_truth_columns(g, iou_type)
    LOAD.setdefault('ours ground truth', []).append(time.perf_counter() - t)
    t = time.perf_counter()
    d = load_results(g, res, iou_type)
    LOAD.setdefault('ours', []).append(time.perf_counter() - t)
    t = time.perf_counter()
    ev = FashionpediaEval(g, d, iou_type)
    views = ev.run()
    return time.perf_counter() - t, views, ev


def time_bootstrap(gt, res, iou_type, ev_a, n):
    """``n`` paired resamples of two runs: ``res`` and a copy with 30% of scores halved."""
    rng = np.random.RandomState(1)
    res_b = copy.deepcopy(res)
    for r in res_b:
        if rng.rand() < 0.3:
            r['score'] *= 0.5
    _, _, ev_b = time_ours(gt, res_b, iou_type)
    t = time.perf_counter()
    out = paired_bootstrap([ev_a, ev_b], n, seed=0)
    return time.perf_counter() - t, out


def time_official(gt, res, iou_type):
    from fashionpedia.fp import Fashionpedia
    from fashionpedia.fp_eval import FPEval
    with contextlib.redirect_stdout(io.StringIO()), numpy_float_alias():
        g = Fashionpedia()
        g.dataset = copy.deepcopy(gt)
        g.createIndex()
        d = g.loadRes(copy.deepcopy(res))
        t = time.perf_counter()
        ev = FPEval(g, d, iou_type)
        ev.run()
    return time.perf_counter() - t, {'iou+f1': ev.results, 'iou': ev.resultDet, 'f1': ev.resultF1}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--num-images', type=int, default=1158)
    p.add_argument('--dets', type=int, default=100, help='detections per image (mean)')
    p.add_argument('--gts', type=int, default=8, help='ground truths per image (mean)')
    p.add_argument('--iou-types', nargs='+', default=['segm', 'bbox'])
    p.add_argument('--skip-reference', action='store_true', help='do not run the official FPEval')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--bootstrap', type=int, default=1000, help='resamples (0: skip)')
    p.add_argument(
        '--repeat',
        type=int,
        default=3,
        help='timed runs of each evaluator (not the official one); the median is printed')
    p.add_argument(
        '--warmup', type=int, default=1, help='untimed runs of each evaluator before those')
    a = p.parse_args(argv)
    t = time.perf_counter()
    small_gt, small_res = make_case(0, num_images=2)
    for iou_type in a.iou_types:
        time_ours(small_gt, small_res, iou_type)
    print(f'compiled kernels loaded in {time.perf_counter() - t:.1f} s (compiled and cached on the '
          'first use after an install, loaded from the cache after that)')
    t = time.perf_counter()
    gt, res = make_case(
        a.seed,
        num_images=a.num_images,
        gts_per_image=a.gts,
        dets_per_image=a.dets,
        size=(480, 640))
    print(f'workload: {len(gt["images"])} images, {len(gt["annotations"])} ground truths, '
          f'{len(res)} detections, 46 classes, 294 attributes '
          f'(generated in {time.perf_counter() - t:.1f} s)')
    print(f'{"iou":<5} {"pycocotools":>11} {"faster-coco":>11} {"hotcoco":>8} '
          f'{"ours (3 views)":>14} {"official":>9}   ratios to hotcoco: pycocotools / faster / '
          f'ours;  12 numbers vs pycocotools')
    for iou_type in a.iou_types:
        res_t = _plain(res, iou_type)
        LOAD.clear()
        t_coco, ref_stats = median_of(a.warmup, a.repeat, time_cocoeval, gt, res_t, iou_type)
        t_fast, fast_stats = median_of(a.warmup, a.repeat, time_faster, gt, res_t, iou_type)
        t_hot, hot_stats = median_of(a.warmup, a.repeat, time_hotcoco, gt, res_t, iou_type)
        t_ours, views, ev = median_of(a.warmup, a.repeat, time_ours, gt, res, iou_type)
        if a.skip_reference:
            t_ref, diff = float('nan'), float('nan')
        else:
            t_ref, ref = time_official(gt, res, iou_type)
            diff = max(abs(ref[v][k] - views[v][k]) for v in ref for k in ref[v])

        def same(stats):
            if stats is None:
                return 'not installed'
            worst = max(abs(x - y) for x, y in zip(stats, ref_stats))
            return 'equal' if worst == 0 else f'max |diff| {worst:.1e}'

        print(f'{iou_type:<5} {t_coco:>11.2f} {t_fast:>11.2f} {t_hot:>8.2f} {t_ours:>14.2f} '
              f'{t_ref:>9.2f}   {t_coco / t_hot:>6.1f} / {t_fast / t_hot:>5.1f} / '
              f'{t_ours / t_hot:>6.1f};  faster-coco-eval {same(fast_stats)}, hotcoco '
              f'{same(hot_stats)}')
        first_hot = FIRST.get('time_hotcoco', float('nan'))
        print(f'      first run in this process: hotcoco {first_hot:.2f} s, ours '
              f'{FIRST["time_ours"]:.2f} s (first touch of memory, thread start)')
        print(f'      loading the results: pycocotools loadRes {_load("pycocotools"):.2f} s, '
              f'hotcoco load_res {_load("hotcoco"):.2f} s, ours load_results {_load("ours"):.2f} '
              f's (+ ground-truth columns, once per COCO object, {_load("ours ground truth"):.2f} '
              's)')
        print(f'      AP IoU+F1 {views["iou+f1"]["AP"]:.4f}   AP IoU {views["iou"]["AP"]:.4f}   '
              f'AP F1 {views["f1"]["AP"]:.4f}   COCO mAP {ref_stats[0]:.4f}   '
              f'ours vs official max |diff| {diff:.1e}')
        if a.bootstrap:
            t_boot, out = time_bootstrap(gt, res, iou_type, ev, a.bootstrap)
            d = out['deltas'][0]['AP_iouf1']
            print(f'      paired bootstrap, 2 runs x {a.bootstrap} resamples: {t_boot:.2f} s = '
                  f'{t_boot / 2 / t_ours:.2f} plain evaluations of ours per run '
                  f'(AP IoU+F1 B - A {100 * d["delta"]:+.2f} '
                  f'[{100 * d["lower"]:+.2f}, {100 * d["upper"]:+.2f}])')


if __name__ == '__main__':
    main()
