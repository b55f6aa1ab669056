"""Vectorized re-implementation of the official Fashionpedia evaluator (``fashionpedia.FPEval``).

Computes exactly what ``FPEval`` computes (fashionpedia-api ``fashionpedia/fp_eval.py``, release
1.1 on PyPI, the parity reference of ``tests/test_fp_eval.py``): COCO-style
greedy matching where a detection matches a ground truth only if IoU >= t_iou AND attribute
F1 >= t_f1, for t_iou in 0.50:0.05:0.95 and t_f1 in 0.50:0.05:0.95, each with an extra -1 slot
that means "ignore this constraint"; F1 is ``binary_macro`` (sklearn ``f1_score(average='macro')``
over the 294-long 0/1 vectors) and applies only to the 18 attribute categories. Three views are
summarised with the official keys: IoU+F1 (the headline, 208 columns: 18 categories x 10 F1
thresholds + 28 x 1), IoU only, F1 only.

What is different is only how: IoU comes from pycocotools (one C call per image/category, as in
``COCOeval``), the F1 of every (detection, ground truth) pair of an image/category is one matrix
product, and the greedy matching runs for all 11 x 11 threshold pairs at once (one numpy
operation per (detection, ground truth) pair instead of 121 Python iterations + an sklearn call).
Accumulation is vectorized over thresholds.

Quirks reproduced on purpose (parity is tested against the official package):
- the -1 slot accepts any IoU/F1, so in the F1-only view a detection may match anywhere;
- attribute categories have no crowd exception: a crowd ground truth is matched at most once;
- stable sort by score per image and again when accumulating; top maxDets[-1] per image/category;
- category *indices* (0..K-1) decide which categories carry attributes in accumulate/summarize,
  category *ids* in evaluate (identical for the official 46-category files);
- matches are stored as ground-truth ids, so a ground truth with id 0 counts as unmatched;
- detection area is the loaded results' ``area`` (bbox area when a bbox is given, as COCO).
"""
from collections import OrderedDict

import numpy as np
import pycocotools.mask as mask_utils
from pycocotools.cocoeval import COCOeval

from ... import taxonomy

CATS_WITH_ATTRIBUTES = taxonomy.CATEGORIES_WITH_ATTRIBUTES_EVAL_ORDER
SUPER_CLASSES = tuple(taxonomy.SUPER_CLASSES)  # outerwear 0-12, accessory 13-26, part 27-45
SUPER_CLASS_IDS = tuple(np.array(ids) for ids in taxonomy.SUPER_CLASSES.values())


def f1_thresholds():
    """0.50:0.05:0.95 plus the -1 "ignore" slot, built as ``FPParams`` builds it."""
    thrs = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
    return np.append(thrs, -1.0)


def binary_macro_f1(dt_multihot, gt_multihot):
    """F1 of every pair, equal to sklearn ``f1_score(gt, dt, average='macro')`` on 0/1 vectors.

    Args:
        dt_multihot (np.ndarray): (D, A) 0/1.
        gt_multihot (np.ndarray): (G, A) 0/1.

    Returns:
        np.ndarray: (D, G) float64. Mean of F1 of "present" and of "absent" over the labels that
        occur in either vector; both vectors empty gives 1.0.
    """
    dt = dt_multihot.astype(np.int64)
    gt = gt_multihot.astype(np.int64)
    num_attrs = dt.shape[1]
    tp = dt @ gt.T
    pred = dt.sum(1)[:, None]
    true = gt.sum(1)[None, :]
    fp, fn = pred - tp, true - tp
    tn = num_attrs - tp - fp - fn
    # sklearn: f = 2 tp / (true_sum + pred_sum), per label present in either vector.
    with np.errstate(divide='ignore', invalid='ignore'):
        f_pos = (2 * tp) / ((tp + fn) + (tp + fp))
        f_neg = (2 * tn) / ((tn + fp) + (tn + fn))
    has_pos = (tp + fp + fn) > 0
    has_neg = (tn + fp + fn) > 0
    both = (f_neg + f_pos) / 2
    return np.where(has_pos & has_neg, both, np.where(has_pos, f_pos, f_neg)).astype(np.float64)


def greedy_match(ious, f1s, gt_ignore, iscrowd, iou_thrs, f1_thrs, crowd_exception):
    """COCO greedy matching for all (IoU threshold, F1 threshold) pairs at once.

    Detections are in score order, ground truths with ignored ones last. For each detection the
    scan over ground truths is the official one: skip matched ones (unless crowd and
    ``crowd_exception``), stop at the first ignored one once a regular one matched, accept a
    ground truth whose IoU and F1 are >= the best so far (starting from the thresholds).

    Args:
        ious, f1s (np.ndarray): (D, G).
        gt_ignore, iscrowd (np.ndarray): (G,) bool.
        iou_thrs (np.ndarray): (T,); f1_thrs (np.ndarray): (F,).

    Returns:
        np.ndarray: (T, F, D) int, index of the matched ground truth or -1.
    """
    num_dt, num_gt = ious.shape
    shape = (len(iou_thrs), len(f1_thrs))
    iou_start = np.broadcast_to(np.minimum(iou_thrs, 1 - 1e-10)[:, None], shape)
    f1_start = np.broadcast_to(np.minimum(f1_thrs, 1 - 1e-10)[None, :], shape)
    if num_gt == 1:  # no chain to follow: the first passing detection takes it (all at once)
        ok = (ious[:, 0] >= iou_start[..., None]) & (f1s[:, 0] >= f1_start[..., None])
        if crowd_exception and iscrowd[0]:
            return np.where(ok, 0, -1)
        first = np.argmax(ok, axis=2)
        out = np.full(shape + (num_dt, ), -1, dtype=np.int64)
        t_idx, f_idx = np.nonzero(ok.any(axis=2))
        out[t_idx, f_idx, first[t_idx, f_idx]] = 0
        return out
    gt_taken = np.zeros(shape + (num_gt, ), dtype=bool)
    dt_match = np.full(shape + (num_dt, ), -1, dtype=np.int64)
    num_regular = int(np.count_nonzero(~gt_ignore))
    reusable = iscrowd.astype(bool) if crowd_exception else np.zeros(num_gt, dtype=bool)
    rows, cols = np.indices(shape)
    for d in range(num_dt):
        best_iou = iou_start.copy()
        best_f1 = f1_start.copy()
        m = np.full(shape, -1, dtype=np.int64)
        stopped = None
        for g in range(num_gt):
            if g == num_regular:  # first ignored ground truth: stop where a regular one matched
                stopped = m > -1
            ok = (ious[d, g] >= best_iou) & (f1s[d, g] >= best_f1)
            if not reusable[g]:
                ok &= ~gt_taken[:, :, g]
            if stopped is not None:
                ok &= ~stopped
            if ok.any():
                best_iou = np.where(ok, ious[d, g], best_iou)
                best_f1 = np.where(ok, f1s[d, g], best_f1)
                m = np.where(ok, g, m)
        hit = m > -1
        gt_taken[rows[hit], cols[hit], m[hit]] = True
        dt_match[:, :, d] = m
    return dt_match


class FashionpediaEval:
    """Drop-in for ``fashionpedia.FPEval`` (same inputs, same ``results``/``resultDet``/
    ``resultF1`` and ``results_per_class``), vectorized.

    Args:
        coco_gt (pycocotools.coco.COCO): ground truth with an ``attributes`` list.
        coco_dt (pycocotools.coco.COCO): ``coco_gt.loadRes(results)``; each result has
            ``attribute_ids``.
        iou_type (str): ``'segm'`` or ``'bbox'``.
        iou_cache (dict | None): reuse the IoU matrices of an earlier evaluation of the same
            detections (keyed by image and category id; only ``attribute_ids`` may differ), as
            the attribute threshold sweep does.
    """

    def __init__(self, coco_gt, coco_dt, iou_type='segm', iou_cache=None):
        if iou_type not in ('segm', 'bbox'):
            raise ValueError(f'iou_type must be segm or bbox, got {iou_type!r}')
        self.coco_eval = COCOeval(coco_gt, coco_dt, iou_type)  # params and _prepare are reused
        self.params = self.coco_eval.params
        self.params.iouThrs = np.append(self.params.iouThrs, -1.0)
        self.f1_thrs = f1_thresholds()
        self.iou_type = iou_type
        attr_ids = [a['id'] for a in coco_gt.dataset.get('attributes', [])]
        self.attr_index = {a: i for i, a in enumerate(attr_ids)}
        self.results = OrderedDict()
        self.eval = {}
        self.iou_cache = iou_cache

    def _multihot(self, anns, which):
        out = np.zeros((len(anns), len(self.attr_index)), dtype=np.int64)
        for row, ann in enumerate(anns):
            for a in ann.get('attribute_ids', []):
                if a not in self.attr_index:
                    raise ValueError(
                        f'{which} annotation id {ann.get("id")} (image {ann.get("image_id")}) has '
                        f'attribute id {a}, absent from the ground-truth attribute list')
                out[row, self.attr_index[a]] = 1
        return out

    def _ious(self, dt, gt):
        if not dt or not gt:
            return np.zeros((len(dt), len(gt)))
        key = 'segmentation' if self.iou_type == 'segm' else 'bbox'
        iscrowd = [int(o['iscrowd']) for o in gt]
        return np.asarray(mask_utils.iou([d[key] for d in dt], [g[key] for g in gt], iscrowd))

    def evaluate(self):
        """Per image/category/area-range matching; fills ``self.eval_imgs[k][a]``."""
        p = self.params
        p.imgIds = list(np.unique(p.imgIds))
        p.catIds = list(np.unique(p.catIds))
        p.maxDets = sorted(p.maxDets)
        self.coco_eval.params = p
        self.coco_eval._prepare()
        gts_all, dts_all = self.coco_eval._gts, self.coco_eval._dts
        max_det = p.maxDets[-1]
        one_f1 = np.array([-1.0])
        self.eval_imgs = [[[] for _ in p.areaRng] for _ in p.catIds]
        for k, cat_id in enumerate(p.catIds):
            with_attr = cat_id in CATS_WITH_ATTRIBUTES
            for img_id in p.imgIds:
                gt, dt = gts_all[img_id, cat_id], dts_all[img_id, cat_id]
                if not gt and not dt:
                    continue
                order = np.argsort([-d['score'] for d in dt], kind='mergesort')[:max_det]
                dt = [dt[i] for i in order]
                if self.iou_cache is None:
                    ious = self._ious(dt, gt)
                elif (img_id, cat_id) in self.iou_cache:
                    ious = self.iou_cache[img_id, cat_id]
                else:
                    ious = self.iou_cache[img_id, cat_id] = self._ious(dt, gt)
                if with_attr:
                    f1s = binary_macro_f1(
                        self._multihot(dt, 'detection'), self._multihot(gt, 'ground-truth'))
                    f1_thrs = self.f1_thrs
                else:
                    f1s, f1_thrs = np.zeros_like(ious), one_f1
                gt_area = np.array([g['area'] for g in gt], dtype=np.float64)
                dt_area = np.array([d['area'] for d in dt], dtype=np.float64)
                gt_crowd = np.array([bool(g['ignore']) for g in gt], dtype=bool)
                iscrowd = np.array([int(g['iscrowd']) for g in gt], dtype=bool)
                gt_ids = np.array([g['id'] for g in gt], dtype=np.int64)
                scores = np.array([d['score'] for d in dt], dtype=np.float64)
                matches = {}  # area ranges with the same gt ignore flags match identically
                for a, (lo, hi) in enumerate(p.areaRng):
                    ignore = gt_crowd | (gt_area < lo) | (gt_area > hi)
                    gind = np.argsort(ignore, kind='mergesort')
                    key = ignore.tobytes()
                    if key in matches:
                        m = matches[key]
                    elif len(dt) and len(gt):
                        m = matches[key] = greedy_match(
                            ious[:, gind],
                            f1s[:, gind],
                            ignore[gind],
                            iscrowd[gind],
                            p.iouThrs,
                            f1_thrs,
                            crowd_exception=not with_attr)
                    else:
                        m = np.full((len(p.iouThrs), len(f1_thrs), len(dt)), -1, np.int64)
                    ids_sorted = gt_ids[gind]
                    ign_sorted = ignore[gind]
                    safe = np.maximum(m, 0)
                    matched = (m > -1) & (ids_sorted[safe] != 0) if len(gt) else m > -1
                    dt_ignore = (m > -1) & ign_sorted[safe] if len(gt) else np.zeros_like(matched)
                    out_of_range = (dt_area < lo) | (dt_area > hi)
                    dt_ignore = dt_ignore | (~matched & out_of_range)
                    self.eval_imgs[k][a].append(
                        dict(
                            scores=scores,
                            matched=matched,
                            ignore=dt_ignore,
                            num_gt=int(np.count_nonzero(~ignore))))

    def accumulate(self):
        """Precision (T, F, R, K, A, M) and recall (T, F, K, A, M), -1 where undefined."""
        p = self.params
        T, F, R = len(p.iouThrs), len(self.f1_thrs), len(p.recThrs)
        K, A, M = len(p.catIds), len(p.areaRng), len(p.maxDets)
        precision = -np.ones((T, F, R, K, A, M))
        recall = -np.ones((T, F, K, A, M))
        for k in range(K):
            # the official accumulate decides by category index, not id
            f_slots = list(range(F)) if k in CATS_WITH_ATTRIBUTES else [F - 1]
            for a in range(A):
                E = self.eval_imgs[k][a]
                if not E:
                    continue
                num_gt = sum(e['num_gt'] for e in E)
                if num_gt == 0:
                    continue
                for mi, max_det in enumerate(p.maxDets):
                    scores = np.concatenate([e['scores'][:max_det] for e in E])
                    order = np.argsort(-scores, kind='mergesort')
                    matched = np.concatenate([e['matched'][:, :, :max_det] for e in E],
                                             axis=2)[:, :, order]
                    ignore = np.concatenate([e['ignore'][:, :, :max_det] for e in E], axis=2)[:, :,
                                                                                              order]
                    sl = slice(None) if len(f_slots) == F else slice(-1, None)
                    matched, ignore = matched[:, sl], ignore[:, sl]
                    tps = np.cumsum(matched & ~ignore, axis=2).astype(np.float64)
                    fps = np.cumsum(~matched & ~ignore, axis=2).astype(np.float64)
                    n = tps.shape[2]
                    rc = tps / num_gt
                    pr = tps / (fps + tps + np.spacing(1))
                    pr = np.maximum.accumulate(pr[:, :, ::-1], axis=2)[:, :, ::-1]
                    for fi, f in enumerate(f_slots):
                        recall[:, f, k, a, mi] = rc[:, fi, -1] if n else 0
                        for t in range(T):
                            q = np.zeros(R)
                            if n:
                                inds = np.searchsorted(rc[t, fi], p.recThrs, side='left')
                                valid = inds < n
                                # the official loop stops at the first index past the end
                                first_bad = np.argmin(valid) if not valid.all() else R
                                q[:first_bad] = pr[t, fi, inds[:first_bad]]
                            precision[t, f, :, k, a, mi] = q
        self.eval = dict(precision=precision, recall=recall)

    def _summarize(self,
                   kind,
                   iou_thr=None,
                   f1_thr=None,
                   f1=True,
                   iou=True,
                   area='all',
                   max_dets=100,
                   super_idx=None,
                   cat_idx=None):
        """Mirror of ``FPEval._summarize``: the same slices, concatenated in the same order."""
        p = self.params
        aidx = [i for i, lbl in enumerate(p.areaRngLbl) if lbl == area]
        midx = [i for i, md in enumerate(p.maxDets) if md == max_dets]
        ap = kind == 'ap'
        s = self.eval['precision'] if ap else self.eval['recall']
        cat_axis = 3 if ap else 2
        # The official code selects area/maxDets last; selecting them first gives the same
        # array (same shape and element order) from a 12x smaller copy.
        s = s[..., aidx, midx]
        if iou and iou_thr is not None:
            s = s[np.where(iou_thr == p.iouThrs)[0]]
        elif iou:
            s = s[:-1]
        else:
            s = s[[-1]]

        def pick(arr, f_idx, c):  # one axis at a time: two index lists would broadcast
            return np.take(np.take(arr, [c], axis=cat_axis), f_idx, axis=1)

        num_cats = len(p.catIds)
        if f1:
            pieces = []
            for c in range(num_cats):
                if cat_idx is not None and c != cat_idx:
                    continue
                if super_idx is not None and c not in SUPER_CLASS_IDS[super_idx]:
                    continue
                if c in CATS_WITH_ATTRIBUTES:
                    if f1_thr is not None:
                        pieces.append(pick(s, np.where(f1_thr == self.f1_thrs)[0], c))
                    else:
                        pieces += [pick(s, [fi], c) for fi in range(len(self.f1_thrs) - 1)]
                else:
                    pieces.append(pick(s, [-1], c))
            s = np.concatenate(pieces, cat_axis)
        else:
            s = s[:, [-1]]
            if super_idx is not None:
                s = np.take(s, SUPER_CLASS_IDS[super_idx], axis=cat_axis)
            elif cat_idx is not None:
                s = np.take(s, [cat_idx], axis=cat_axis)
        valid = s[s > -1]
        return -1 if len(valid) == 0 else float(np.mean(valid))

    def summary(self, f1=True, iou=True, cat_idx=None, super_idx=None):
        """Official summary dict of one view (keys as ``FPEval._summarize_with_cat``)."""
        res = OrderedDict()
        if super_idx is None and cat_idx is None:
            for idx, sc in enumerate(SUPER_CLASSES):
                if idx == 1 and f1:
                    continue
                res['AP' + sc] = self._summarize('ap', super_idx=idx, f1=f1, iou=iou)
        kw = dict(f1=f1, iou=iou, super_idx=super_idx, cat_idx=cat_idx)
        res['AP'] = self._summarize('ap', **kw)
        if iou:
            res['AP_IOU50'] = self._summarize('ap', iou_thr=.5, **kw)
            res['AP_IOU75'] = self._summarize('ap', iou_thr=.75, **kw)
        if f1:
            for t in (0.5, 0.75):
                res[f'AP_F1{int(t * 100):d}'] = self._summarize('ap', f1_thr=t, **kw)
        if f1 and iou:
            for ti in (0.5, 0.75):
                for tf in (0.5, 0.75):
                    res[f'AP_IOU{int(ti * 100):d}_F1{int(tf * 100):d}'] = self._summarize(
                        'ap', iou_thr=ti, f1_thr=tf, **kw)
        for lbl in ('small', 'medium', 'large'):
            res['AP' + lbl[0]] = self._summarize('ap', area=lbl, **kw)
        for md in self.params.maxDets:
            res[f'AR@{md}'] = self._summarize('ar', max_dets=md, **kw)
        for lbl in ('small', 'medium', 'large'):
            res[f'AR{lbl[0]}@100'] = self._summarize('ar', area=lbl, **kw)
        return res

    def summarize(self):
        """Fill ``results`` (IoU+F1), ``resultDet`` (IoU only), ``resultF1`` (F1 only)."""
        self.results = self.summary()
        self.resultDet = self.summary(f1=False)
        self.resultF1 = self.summary(iou=False)
        return {
            'iou+f1': dict(self.results),
            'iou': dict(self.resultDet),
            'f1': dict(self.resultF1)
        }

    def summarize_per_class(self, class_names):
        """Per-class results as ``FPEval._per_cls_summarize`` (``class_names`` in index order)."""
        out = OrderedDict()
        for c, name in enumerate(class_names):
            entry = {'iou': dict(self.summary(f1=False, cat_idx=c))}
            if c in CATS_WITH_ATTRIBUTES:
                entry['iou_f1'] = dict(self.summary(cat_idx=c))
                entry['f1'] = dict(self.summary(iou=False, cat_idx=c))
            out[name] = entry
        return out

    def run(self):
        self.evaluate()
        self.accumulate()
        return self.summarize()
