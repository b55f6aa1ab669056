"""COCO AP from a choice of evaluators: the fast one in the loop, pycocotools as the reference.

``FashionpediaMetric(coco_backend=...)``:

- ``'hotcoco'`` (default): hotcoco (PyPI, Rust, pycocotools-compatible). Measured side by side
  on the val-scale workload (``make benchmark``, docs/metric.md "Benchmark"): the fastest of
  pycocotools, faster-coco-eval and hotcoco, with every one of the 12 summary numbers equal to
  pycocotools' on the parity case matrix (``tests/test_coco_backends.py``).
- ``'pycocotools'``: mmdet's ``CocoMetric`` path (``COCOeval``), the reference.

:func:`coco_stats` runs one evaluation with mmdet's parameters (its ``cat_ids``, ``img_ids``,
``maxDets = proposal_nums`` (100, 300, 1000) and ``iou_thrs``), so that the 12 ``stats`` mean
what ``CocoMetric`` reads from them.
"""
import contextlib
import copy
import io
import warnings

import numpy as np

COCO_BACKENDS = ('hotcoco', 'pycocotools')
# CocoMetric's names of COCOeval.stats (mmdet/evaluation/metrics/coco_metric.py)
STAT_NAMES = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l', 'AR@100', 'AR@300', 'AR@1000',
              'AR_s@1000', 'AR_m@1000', 'AR_l@1000')


def check_backend(name):
    """``ValueError`` for an unknown backend, ``ImportError`` (with the fix) for a missing one."""
    if name not in COCO_BACKENDS:
        raise ValueError(f'coco_backend must be one of {COCO_BACKENDS}, got {name!r}')
    if name == 'hotcoco':
        try:
            import hotcoco  # noqa: F401
        except ImportError:
            raise ImportError("coco_backend='hotcoco' needs the hotcoco package (pip install "
                              "hotcoco; a dependency of this project), or set "
                              "coco_backend='pycocotools'") from None


class HotcocoGT:
    """hotcoco's ground truth built once from a pycocotools-style dataset dict (the metric's
    ``_coco_api.dataset``) and reused by every evaluation."""

    def __init__(self, dataset):
        import hotcoco
        self.coco = hotcoco.COCO(copy.deepcopy(dataset))


def coco_stats(backend, gt, preds, iou_type, cat_ids, img_ids, max_dets, iou_thrs):
    """The 12 ``COCOeval.stats`` of ``preds`` (results dicts) against ``gt`` (a
    :class:`HotcocoGT` for hotcoco, a pycocotools ``COCO`` for pycocotools). As ``CocoMetric``,
    segm results are evaluated without their ``bbox`` (so the mask area decides small/medium/
    large) and ``preds`` are not modified."""
    preds = [{
        k: v
        for k, v in p.items() if not (iou_type == 'segm' and k == 'bbox')
    } for p in preds]
    if backend == 'hotcoco':
        import hotcoco
        ev = hotcoco.COCOeval(gt.coco, gt.coco.load_res(preds), iou_type)
        p = ev.params
        p.cat_ids, p.img_ids = [int(c) for c in cat_ids], [int(i) for i in img_ids]
        p.max_dets, p.iou_thrs = [int(m) for m in max_dets], [float(t) for t in iou_thrs]
        ev.params = p
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            # hotcoco warns that maxDets differ from [1, 10, 100]: mmdet's choice, kept
            warnings.simplefilter('ignore', UserWarning)
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        return np.asarray(ev.stats, dtype=np.float64)
    from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(gt, gt.loadRes(preds), iou_type)
        ev.params.catIds, ev.params.imgIds = list(cat_ids), list(img_ids)
        ev.params.maxDets, ev.params.iouThrs = list(max_dets), np.asarray(iou_thrs)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats, dtype=np.float64)
