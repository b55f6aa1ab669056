"""Vectorized re-implementation of the official Fashionpedia evaluator (``fashionpedia.FPEval``).

Computes exactly what ``FPEval`` computes (fashionpedia-api ``fashionpedia/fp_eval.py``, release
1.1 on PyPI, the parity reference of ``tests/test_fp_eval.py``): COCO-style
greedy matching where a detection matches a ground truth only if IoU >= t_iou AND attribute
F1 >= t_f1, for t_iou in 0.50:0.05:0.95 and t_f1 in 0.50:0.05:0.95, each with an extra -1 slot
that means "ignore this constraint"; F1 is ``binary_macro`` (sklearn ``f1_score(average='macro')``
over the 294-long 0/1 vectors) and applies only to the 18 attribute categories. Three views are
summarised with the official keys: IoU+F1 (the headline, 208 columns: 18 categories x 10 F1
thresholds + 28 x 1), IoU only, F1 only.

What is different is only how: the annotations are flattened into arrays once, grouped by
(category, image), and every step runs as a compiled kernel (``fp_kernels``, ``fp_accumulate``;
numba): RLE IoU and box IoU as pycocotools computes them, the F1 of every pair, the greedy
matching for all 11 x 11 threshold pairs, and the accumulation. The same per-image matching
also holds plain COCO matching (``coco_precision``: COCO mAP) and feeds the paired bootstrap
(``bootstrap.py``), which repeats only the accumulation with per-image weights.

Quirks reproduced on purpose (parity is tested against the official package):
- the -1 slot accepts any IoU/F1, so in the F1-only view a detection may match anywhere;
- attribute categories have no crowd exception: a crowd ground truth is matched at most once;
- stable sort by score per image and again when accumulating; top maxDets[-1] per image/category;
- category *indices* (0..K-1) decide which categories carry attributes in accumulate/summarize,
  category *ids* in evaluate (identical for the official 46-category files);
- matches are stored as ground-truth ids, so a ground truth with id 0 counts as unmatched;
- detection area is the loaded results' ``area`` (bbox area when a bbox is given, as COCO).
"""
import hashlib
from collections import OrderedDict

import numba
import numpy as np
from pycocotools.cocoeval import Params

from ... import taxonomy
from . import fp_accumulate as acc
from . import fp_groups as grp
from . import fp_kernels as kern
from .fp_columns import Columns, ground_truth_columns

CATS_WITH_ATTRIBUTES = taxonomy.CATEGORIES_WITH_ATTRIBUTES_EVAL_ORDER
SUPER_CLASSES = tuple(taxonomy.SUPER_CLASSES)  # outerwear 0-12, accessory 13-26, part 27-45
SUPER_CLASS_IDS = tuple(np.array(ids) for ids in taxonomy.SUPER_CLASSES.values())


def summary_specs(max_dets, f1=True, iou=True, cat_idx=None, super_idx=None):
    """``(key, kind, slice)`` of each number of one view's summary, in the official order
    (``FPEval._summarize_with_cat``): the keys a metric reports, also when it has nothing to
    evaluate (``FashionpediaMetric`` then logs zeros under the same keys)."""
    specs = []
    if super_idx is None and cat_idx is None:
        for idx, sc in enumerate(SUPER_CLASSES):
            if idx == 1 and f1:
                continue
            specs.append(('AP' + sc, 'ap', dict(super_idx=idx, f1=f1, iou=iou)))
    kw = dict(f1=f1, iou=iou, super_idx=super_idx, cat_idx=cat_idx)
    specs.append(('AP', 'ap', kw))
    if iou:
        specs += [('AP_IOU50', 'ap', dict(iou_thr=.5, **kw)),
                  ('AP_IOU75', 'ap', dict(iou_thr=.75, **kw))]
    if f1:
        specs += [(f'AP_F1{int(t * 100):d}', 'ap', dict(f1_thr=t, **kw)) for t in (0.5, 0.75)]
    if f1 and iou:
        specs += [(f'AP_IOU{int(ti * 100):d}_F1{int(tf * 100):d}', 'ap',
                   dict(iou_thr=ti, f1_thr=tf, **kw)) for ti in (0.5, 0.75) for tf in (0.5, 0.75)]
    specs += [('AP' + lbl[0], 'ap', dict(area=lbl, **kw)) for lbl in ('small', 'medium', 'large')]
    specs += [(f'AR@{md}', 'ar', dict(max_dets=md, **kw)) for md in max_dets]
    specs += [(f'AR{lbl[0]}@100', 'ar', dict(area=lbl, **kw))
              for lbl in ('small', 'medium', 'large')]
    return specs


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


class FashionpediaEval:
    """Drop-in for ``fashionpedia.FPEval`` (same inputs, same ``results``/``resultDet``/
    ``resultF1`` and ``results_per_class``), on compiled kernels. After ``evaluate()``,
    ``match`` holds the per-image matching (what ``accumulate(weights)`` and the bootstrap use).

    Args:
        coco_gt (pycocotools.coco.COCO): ground truth with an ``attributes`` list.
        coco_dt (pycocotools.coco.COCO | Columns): ``coco_gt.loadRes(results)``, or
            ``fp_columns.load_results(coco_gt, results, iou_type)`` (the same, without building
            a ``COCO``); each result has ``attribute_ids``.
        iou_type (str): ``'segm'`` or ``'bbox'``.
        iou_cache (dict | None): reuse the IoUs of an earlier evaluation of the same detections
            in the same order (only ``attribute_ids`` may differ; checked by a hash of the
            detection ids and groups), as the attribute threshold sweep does.
    """

    def __init__(self, coco_gt, coco_dt, iou_type='segm', iou_cache=None):
        if iou_type not in ('segm', 'bbox'):
            raise ValueError(f'iou_type must be segm or bbox, got {iou_type!r}')
        self.coco_gt, self.coco_dt = coco_gt, coco_dt
        self.params = Params(iouType=iou_type)  # as COCOeval builds it, + the -1 slot
        self.params.imgIds = sorted(coco_gt.getImgIds())
        self.params.catIds = sorted(coco_gt.getCatIds())
        self.params.iouThrs = np.append(self.params.iouThrs, -1.0)
        self.f1_thrs = f1_thresholds()
        self.iou_type = iou_type
        self.attr_ids = np.array([a['id'] for a in coco_gt.dataset.get('attributes', [])], np.int64)
        self.results = OrderedDict()
        self.eval = {}
        self.iou_cache = iou_cache
        self.match = None

    # -- flattening ------------------------------------------------------------------------
    def _columns(self):
        gt = ground_truth_columns(self.coco_gt, self.iou_type)
        dt = self.coco_dt
        if not isinstance(dt, Columns):
            dt = Columns.from_coco(dt, self.iou_type)
        return gt, dt

    @staticmethod
    def _select(cols, img_ids, cat_ids):
        """Positions of the annotations of the evaluated images/categories (as
        ``COCOeval._prepare`` loads them), their image and category positions."""
        img, cat = cols.image_id, cols.category_id
        ip = np.minimum(np.searchsorted(img_ids, img), len(img_ids) - 1)
        cp = np.minimum(np.searchsorted(cat_ids, cat), len(cat_ids) - 1)
        keep = np.flatnonzero((img_ids[ip] == img) & (cat_ids[cp] == cat))
        return keep, ip[keep], cp[keep]

    def _attributes(self, cols, idx, cats, which):
        """CSR (sorted unique indices, offsets) of the attributes of annotations ``idx`` of
        ``cols`` (``cats``: their category positions)."""
        order = np.argsort(self.attr_ids, kind='stable')
        check = np.isin(cats, list(CATS_WITH_ATTRIBUTES))
        values, offsets, unknown = grp.attribute_lists(cols.attr_ids, cols.attr_off, idx,
                                                       self.attr_ids[order], order, check)
        if unknown.any():
            i = idx[np.flatnonzero(unknown)[0]]
            own = cols.attr_ids[cols.attr_off[i]:cols.attr_off[i + 1]]
            first = own[~np.isin(own, self.attr_ids)][0]
            raise ValueError(f'{which} annotation id {cols.id[i]} (image {cols.image_id[i]}) '
                             f'has attribute id {first}, absent from the ground-truth '
                             f'attribute list ({int(unknown.sum())} such attribute ids)')
        return values, offsets

    def _shapes(self, cols):
        """``(counts, starts, ends, (h, w), boxes or mask x ranges, pixel counts, canonical)``
        for ``pair_ious``."""
        n = len(cols)
        if self.iou_type == 'bbox':
            none = np.zeros(n, np.int64)
            return none[:1], none, none, np.zeros((n, 2), np.int64), cols.box, none, none > 0
        return (cols.counts, cols.starts, cols.ends, cols.hw, cols.xr, cols.mask_area,
                cols.canonical)

    def _flatten(self):
        p = self.params
        img_ids = np.unique(np.asarray(p.imgIds, np.int64))
        cat_ids = np.unique(np.asarray(p.catIds, np.int64))
        p.imgIds, p.catIds, p.maxDets = img_ids.tolist(), cat_ids.tolist(), sorted(p.maxDets)
        n_img, n_keys = len(img_ids), len(img_ids) * len(cat_ids)
        gt_cols, dt_cols = self._columns()
        g_pos, g_img, g_cat = self._select(gt_cols, img_ids, cat_ids)
        d_pos, d_img, d_cat = self._select(dt_cols, img_ids, cat_ids)
        # groups (category, image); detections by score within a group (stable), top maxDets[-1]
        g_key, d_key = g_cat * n_img + g_img, d_cat * n_img + d_img
        score = dt_cols.score[d_pos]
        d_order, d_ptr = grp.counting_sort(d_key, n_keys)
        d_order = grp.segment_argsort(-score, d_order, d_ptr)
        g_order, g_ptr = grp.counting_sort(g_key, n_keys)
        d_len, g_len = np.diff(d_ptr), np.diff(g_ptr)
        keys = np.flatnonzero((d_len > 0) | (g_len > 0))
        rank = np.arange(len(d_order)) - np.repeat(d_ptr[:-1], d_len)
        keep = rank < p.maxDets[-1]
        d_order, rank = d_order[keep], rank[keep]
        grp_dt = np.concatenate([[0], np.cumsum(np.minimum(d_len[keys], p.maxDets[-1]))])
        grp_gt = np.append(g_ptr[keys], len(g_order))
        grp_cat, grp_img = keys // max(n_img, 1), keys % max(n_img, 1)
        g_idx, d_idx = g_pos[g_order], d_pos[d_order]
        # the annotations are read through g_idx/d_idx (group order -> their columns) rather
        # than copied: the kernels read a mask's few fields once or twice
        m = dict(
            gt_src=(gt_cols, g_idx),
            dt_src=(dt_cols, d_idx),
            d_id=dt_cols.id[d_idx],
            d_area=dt_cols.area[d_idx],
            g_id=gt_cols.id[g_idx],
            g_area=gt_cols.area[g_idx],
            g_crowd=gt_cols.crowd[g_idx],
            n_img=n_img,
            rank=rank.astype(np.int64),
            score=score[d_order],
            d_cat=d_cat[d_order],
            d_img=d_img[d_order],
            g_cat=g_cat[g_order],
            grp_dt=grp_dt.astype(np.int64),
            grp_gt=grp_gt.astype(np.int64),
            grp_cat=grp_cat.astype(np.int64),
            grp_img=grp_img.astype(np.int64),
            # evaluate decides by category *id*, accumulate by category *index* (official)
            grp_attr=np.isin(cat_ids[grp_cat], list(CATS_WITH_ATTRIBUTES)),
            cat_attr=np.isin(np.arange(len(cat_ids)), list(CATS_WITH_ATTRIBUTES)),
            pair_off=np.concatenate([[0], np.cumsum(np.diff(grp_dt) * np.diff(grp_gt))
                                     ]).astype(np.int64))
        return m

    def _pair_ious(self, m):
        (gt, g_idx), (dt, d_idx) = m['gt_src'], m['dt_src']
        key = None
        if self.iou_cache is not None:  # same detections in the same order: same IoUs
            key = hashlib.sha1(b''.join(x.tobytes() for x in (m['d_id'], m['grp_dt'],
                                                              m['grp_gt']))).hexdigest()
            if self.iou_cache.get('key') == key:
                return self.iou_cache['ious']
        d, g = self._shapes(dt), self._shapes(gt)
        # groups in the order their detections' masks lie in memory (the results' order: image
        # by image as a detector writes them) rather than category by category: reading
        # 100k masks' counts (~120 MB at val scale) in a random order cost 3x the time.
        where = m['grp_dt'][:-1]
        if self.iou_type == 'segm' and len(d_idx):
            where = dt.starts[d_idx[np.minimum(where, len(d_idx) - 1)]]
        visit = np.argsort(where, kind='stable').astype(np.int64)
        ious = kern.pair_ious(m['grp_dt'], m['grp_gt'], m['pair_off'], visit,
                              self.iou_type == 'segm', d_idx, *d, g_idx, *g, gt.crowd)
        if key is not None:
            self.iou_cache.update(key=key, ious=ious)
        return ious

    def evaluate(self):
        """Per image/category/area-range matching of every threshold pair (``self.match``)."""
        p = self.params
        m = self._flatten()
        ious = self._pair_ious(m)
        dt_attr, dt_attr_off = self._attributes(*m['dt_src'], m['d_cat'], 'detection')
        gt_attr, gt_attr_off = self._attributes(*m['gt_src'], m['g_cat'], 'ground-truth')
        f1s = kern.pair_f1s(m['grp_dt'], m['grp_gt'], m['pair_off'], m['grp_attr'], dt_attr,
                            dt_attr_off, gt_attr, gt_attr_off, len(self.attr_ids))
        lo = np.array([r[0] for r in p.areaRng], np.float64)
        hi = np.array([r[1] for r in p.areaRng], np.float64)
        # each category's detections by score; ties: image order, then rank (official concat)
        # (the detections are in (category, image, rank) order already: a stable sort by
        # score inside each category keeps that order for ties)
        n_dt = len(m['d_cat'])
        cat_ptr = np.searchsorted(m['d_cat'], np.arange(len(p.catIds) + 1)).astype(np.int64)
        order = grp.segment_argsort(-m['score'], np.arange(n_dt, dtype=np.int64), cat_ptr)
        # match codes, only for the detections of groups with ground truth (the others match
        # nothing: 0 everywhere): their positions in the score order ``mpos``, category k's
        # ``mpos[mcat_ptr[k]:mcat_ptr[k + 1]]``; its block at mcat_ptr[k] * C, (C columns, those
        # detections); detection d of column c at addr[d] + c * stride[d] (see fp_kernels)
        T, F1 = len(p.iouThrs), len(self.f1_thrs) + 1
        C = len(lo) * T * F1
        with_gt = np.repeat(np.diff(m['grp_gt']) > 0, np.diff(m['grp_dt']))
        mpos = np.flatnonzero(with_gt[order]).astype(np.int64)
        mcat_ptr = np.searchsorted(mpos, cat_ptr).astype(np.int64)
        mq = np.full(n_dt, -1, np.int64)  # each score-order position's index in mpos, or -1
        mq[mpos] = np.arange(len(mpos))
        q = np.empty(n_dt, np.int64)  # the same by detection (group order)
        q[order] = mq
        first = mcat_ptr[m['d_cat']]
        # outputs allocated by numpy (huge pages; see fp_kernels.decode_rle_strings)
        m['codes'] = np.zeros(C * len(mpos), np.int8)
        m['num_gt'] = np.zeros((len(m['grp_cat']), len(lo)), np.int64)
        kern.match_groups(m['grp_dt'], m['grp_gt'], m['pair_off'], m['grp_attr'], ious, f1s,
                          m['g_area'], m['g_crowd'], m['g_crowd'], m['g_id'], lo, hi,
                          np.asarray(p.iouThrs, np.float64), self.f1_thrs, first * C + q - first,
                          np.diff(mcat_ptr)[m['d_cat']], m['codes'], m['num_gt'])
        m.update(
            order=order,
            cat_ptr=cat_ptr,
            mpos=mpos,
            mq=mq,
            mcat_ptr=mcat_ptr,
            area_lo=lo,
            area_hi=hi,
            T=T,
            F1=F1)
        m['gt_src'] = m['dt_src'] = None  # the arrays are all that accumulate and bootstrap need
        self.match = m

    def accumulate(self, weights=None):
        """Precision (T, F, R, K, A, M) and recall (T, F, K, A, M), -1 where undefined; plain
        COCO matching in ``coco_precision``/``coco_recall`` (T, R, K, A, M). ``weights``
        (images,): each image counted that many times (default 1)."""
        p, m = self.params, self.match
        w = np.ones(m['n_img']) if weights is None else np.asarray(weights, np.float64)
        if w.shape != (m['n_img'], ) or np.any(w != np.round(w)) or np.any(w < 0):
            raise ValueError(f'weights must be {m["n_img"]} non-negative integer counts (one per '
                             f'evaluated image), got shape {w.shape}')
        T, F1 = m['T'], m['F1']
        K, A, M = len(p.catIds), len(p.areaRng), len(p.maxDets)
        # computed curve by curve (K, A, M, T, F1, R), handed out in the official layout
        precision = np.empty((K, A, M, T, F1, len(p.recThrs)))  # -1 where undefined
        recall = np.empty((K, A, M, T, F1))
        acc.accumulate(m['order'], m['cat_ptr'], m['rank'], m['d_img'], m['d_area'], m['area_lo'],
                       m['area_hi'], m['codes'], m['mpos'], m['mcat_ptr'], T, F1, m['grp_cat'],
                       m['grp_img'], m['num_gt'], m['cat_attr'], np.asarray(p.maxDets, np.int64),
                       np.asarray(p.recThrs, np.float64), w, np.arange(A, dtype=np.int64),
                       numba.get_num_threads(), precision, recall)
        precision = precision.transpose(3, 4, 5, 0, 1, 2)  # (T, F1, R, K, A, M)
        recall = recall.transpose(3, 4, 0, 1, 2)  # (T, F1, K, A, M)
        self._slices = {}
        self.eval = dict(
            precision=precision[:, :-1],
            recall=recall[:, :-1],
            coco_precision=precision[:, -1],
            coco_recall=recall[:, -1])

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
        cat_axis = 3 if ap else 2
        # The official code selects area/maxDets last; selecting them first gives the same
        # array (same shape and element order) from a 12x smaller copy, made once per slice.
        key = (kind, tuple(aidx), tuple(midx))
        if key not in self._slices:
            s = self.eval['precision'] if ap else self.eval['recall']
            self._slices[key] = s[..., aidx, midx]
        s = self._slices[key]
        if iou and iou_thr is not None:
            s = s[np.where(iou_thr == p.iouThrs)[0]]
        elif iou:
            s = s[:-1]
        else:
            s = s[[-1]]

        num_cats = len(p.catIds)
        if f1:  # (F1 slot, category) pairs in the official concatenation order
            f_list, c_list = [], []
            for c in range(num_cats):
                if cat_idx is not None and c != cat_idx:
                    continue
                if super_idx is not None and c not in SUPER_CLASS_IDS[super_idx]:
                    continue
                if c in CATS_WITH_ATTRIBUTES:
                    fs = (
                        list(np.where(f1_thr == self.f1_thrs)[0])
                        if f1_thr is not None else range(len(self.f1_thrs) - 1))
                else:
                    fs = [len(self.f1_thrs) - 1]
                f_list += fs
                c_list += [c] * len(fs)
            # one gather, laid out as the concatenation: (T', R, pairs) / (T', pairs)
            s = np.moveaxis(s[:, f_list, :, c_list], 0, -1) if ap else s[:, f_list, c_list]
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
        return OrderedDict(
            (key, self._summarize(kind, **kw))
            for key, kind, kw in summary_specs(self.params.maxDets, f1, iou, cat_idx, super_idx))

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
