"""Compiled (numba) kernels of :class:`FashionpediaEval`: RLE decoding, mask/box IoU, attribute
F1 and the greedy matching for every threshold pair (the accumulation: ``fp_accumulate``).

Each kernel is a line-by-line port of the C or Python it replaces, so that every float is the
same operation on the same operands (the parity tests compare with ``FPEval`` and ``COCOeval``):
- ``decode_rle_strings``, ``rle_bbox``, ``rle_extents``, ``rle_iou_merge``, ``box_iou``:
  pycocotools ``maskApi.c`` (``rleFrString``, ``rleToBbox``, ``rleArea``, ``rleIou``, ``bbIou``);
  ``rle_intersection`` + ``_iou_of``: ``rleIou``'s integers by a shorter walk (canonical masks);
- ``pair_f1``: sklearn ``f1_score(average='macro')`` on two 0/1 vectors (see ``binary_macro_f1``);
- ``match_groups``: ``COCOeval.evaluateImg`` and ``FPEval.evaluateImg``.

The matching is kept as match codes, one per (area range a, IoU threshold t, F1 column f,
detection): ``MATCHED`` (a true positive), ``MATCHED_IGNORED`` (matched an ignored ground truth)
or 0 (unmatched: a false positive, or ignored when the detection's area is out of the range).
Column ``f == F`` (one past the F1 thresholds) holds plain COCO matching (crowd exception for
every category, no F1), which gives COCO mAP from the same per-image matching. The codes are
laid out category by category, each category's block (columns, its detections in the
accumulation's score order), so that the accumulation reads each curve as one contiguous row.
Compiled on first use and cached beside this file (``cache=True``): the first evaluation after
an install spends 35-100 s on 2 CPU cores compiling (:func:`compiled_on_disk`).
"""
import glob
import os.path as osp
import sys

import numba
import numpy as np

njit = numba.njit(cache=True, nogil=True)
pjit = numba.njit(cache=True, nogil=True, parallel=True)  # prange over independent groups
MATCHED, MATCHED_IGNORED = 1, 2  # match codes; 0: unmatched


def _cache_dir():
    """The folder numba caches this package's kernels in: beside the file, or numba's
    user-wide cache for a read-only install, or ``$NUMBA_CACHE_DIR`` (numba's own locator)."""
    try:
        return _rle_lengths._cache._cache_path
    except AttributeError:  # numba's internals moved: the in-tree default
        return osp.join(osp.dirname(osp.abspath(__file__)), '__pycache__')


KERNEL_MODULES = ('fp_kernels', 'fp_groups', 'fp_accumulate')  # the files with numba kernels


def compiled_on_disk():
    """Whether numba's cache holds these kernels for the files as they are now: if not, the
    next evaluation compiles them first. Per kernel file, its newest index file
    (``fp_groups.<kernel>-<line>.py311.nbi``) must be at least as new as the file: numba keys
    its cache on the source file's modification time and size, so a ``git pull`` that changes
    a file recompiles its kernels (the index files of the old version stay behind)."""
    here = osp.dirname(osp.abspath(__file__))
    tag = f'py{sys.version_info[0]}{sys.version_info[1]}'  # this interpreter's index files
    for module in KERNEL_MODULES:
        indexes = glob.glob(osp.join(_cache_dir(), f'{module}.*.{tag}*.nbi'))  # (+ abiflags)
        if not indexes or (max(map(osp.getmtime, indexes)) < osp.getmtime(
                osp.join(here, f'{module}.py'))):
            return False
    return True


@pjit
def _rle_lengths(buf, offsets):
    """Number of counts in each COCO compressed RLE string (a count ends at a byte without the
    continuation bit 0x20)."""
    n = len(offsets) - 1
    lens = np.zeros(n, np.int64)
    for i in numba.prange(n):
        for p in range(offsets[i], offsets[i + 1]):
            if not ((np.int64(buf[p]) - 48) & 0x20):
                lens[i] += 1
    return lens


@pjit
def _rle_decode_into(buf, offsets, starts, counts):
    """``rleFrString`` of each string i into ``counts[starts[i]:]``."""
    for i in numba.prange(len(offsets) - 1):
        p, end, m = offsets[i], offsets[i + 1], 0
        s = starts[i]
        while p < end:
            x, k, more = 0, 0, 1
            while more:
                c = np.int64(buf[p]) - 48
                x |= (c & 0x1f) << (5 * k)
                more = c & 0x20
                p += 1
                k += 1
                if not more and (c & 0x10):
                    x |= np.int64(-1) << (5 * k)
            if m > 2:
                x += counts[s + m - 2]
            counts[s + m] = x
            m += 1


def decode_rle_strings(buf, offsets):
    """COCO compressed RLE strings (concatenated bytes, string i = ``buf[offsets[i]:offsets[i +
    1]]``) -> counts (int32: ``maskApi.c``'s are 32-bit ``uint``, and the IoUs read every
    count of tens of MB of masks, so half the bytes is half the memory traffic) and each mask's
    ``[start, end)`` in them (int64). The output is allocated
    by numpy (which asks for huge pages: an evaluation allocates tens of MB, and first touching
    them page by page cost more than decoding)."""
    lens = _rle_lengths(buf, offsets)
    ends = np.cumsum(lens)
    starts = ends - lens  # (n,) like ends, also for n = 0
    counts = np.empty(int(ends[-1]) if len(ends) else 0, np.int32)
    _rle_decode_into(buf, offsets, starts, counts)
    return counts, starts, ends


@njit
def rle_bbox(counts, s, e, h):
    """``rleToBbox`` of one mask: float64 (4,) x, y, w, h."""
    out = np.zeros(4)
    m = ((e - s) // 2) * 2
    if m == 0 or h == 0:
        return out
    xs, ys, xe, ye, cc, xp = np.int64(1) << 62, h, 0, 0, 0, 0
    for j in range(m):
        cc += counts[s + j]
        t = cc - j % 2
        y = t % h
        x = (t - y) // h
        if j % 2 == 0:
            xp = x
        elif xp < x:
            ys, ye = 0, h - 1
        xs, xe, ys, ye = min(xs, x), max(xe, x), min(ys, y), max(ye, y)
    out[0], out[1], out[2], out[3] = xs, ys, xe - xs + 1, ye - ys + 1
    return out


@pjit
def rle_extents(counts, starts, ends, hw):
    """Per mask: the first and last column holding a foreground pixel (= ``rleToBbox``'s x
    range; (1, 0) for an empty mask), the pixel count (``rleArea``: the sum of the odd runs),
    int64 (n,) each; whether the RLE is valid (bool (n,): no negative run, runs summing to
    h * w; ``rleIou`` never ends on other masks) and canonical (bool (n,): no empty run but
    the first, as pycocotools' encoders write it; ``rle_intersection`` needs it). Masks in
    columns that do not overlap do not intersect."""
    n = len(starts)
    xs, xe, area = np.ones(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
    valid, canonical = np.ones(n, np.bool_), np.ones(n, np.bool_)
    for i in numba.prange(n):
        s, e, h = starts[i], ends[i], hw[i, 0]
        total = 0
        for j in range(s, e):
            total += counts[j]
            if counts[j] < 0:
                valid[i] = False
            elif counts[j] == 0 and j > s:
                canonical[i] = False
            if (j - s) % 2:
                area[i] += counts[j]
        if total != h * hw[i, 1]:
            valid[i] = False
        m = ((e - s) // 2) * 2
        if m == 0 or h == 0:
            continue
        last = -1
        for j in range(s, s + m):  # only adds: the column is one division at each end
            last += counts[j]
        xs[i], xe[i] = counts[s] // h, last // h
    return xs, xe, area, valid, canonical


@njit
def box_iou(d, g, crowd):
    """``bbIou`` of one pair (x, y, w, h); crowd: the union is the detection's area."""
    w = min(d[2] + d[0], g[2] + g[0]) - max(d[0], g[0])
    if w <= 0:
        return 0.0
    h = min(d[3] + d[1], g[3] + g[1]) - max(d[1], g[1])
    if h <= 0:
        return 0.0
    i = w * h
    da = d[2] * d[3]
    u = da if crowd else da + g[2] * g[3] - i
    return i / u


@njit
def rle_iou_merge(ca_all, sa, ea, cb_all, sb, eb, crowd):
    """``rleIou`` of one pair whose boxes overlap, line by line: run-length merge, intersection
    / union (for masks that are not canonical, see ``rle_extents``)."""
    ka, kb = ea - sa, eb - sb
    ca, cb = ca_all[sa], cb_all[sb]
    va, vb = False, False
    a, b, inter, union, ct = 1, 1, 0, 0, 1
    while ct > 0:
        c = min(ca, cb)
        if va or vb:
            union += c
            if va and vb:
                inter += c
        ct = 0
        ca -= c
        if ca == 0 and a < ka:
            ca = ca_all[sa + a]
            a += 1
            va = not va
        ct += ca
        cb -= c
        if cb == 0 and b < kb:
            cb = cb_all[sb + b]
            b += 1
            vb = not vb
        ct += cb
    if inter == 0:
        union = 1
    elif crowd:
        union = 0
        for j in range(sa + 1, ea, 2):
            union += ca_all[j]
    return np.float64(inter) / np.float64(union)


@njit
def _skip_runs(c, s, e, lo):
    """Position and index of the first (background, foreground) run pair of a mask (counts
    ``c[s:e]``) that ends after pixel ``lo``."""
    p, j = 0, s
    while j + 1 < e:
        q = p + c[j] + c[j + 1]
        if q > lo:
            break
        p, j = q, j + 2
    return p, j


@njit
def rle_intersection(ca, sa, ea, cb, sb, eb, lo, hi):
    """Pixels in both of two canonical masks of the same size (``rle_extents``), counted only
    over pixels ``[lo, hi)`` (the columns both masks reach: nothing of either outside meets the
    other), walking the two masks' foreground intervals from there."""
    pa, ja = _skip_runs(ca, sa, ea, lo)
    pb, jb = _skip_runs(cb, sb, eb, lo)
    inter = 0
    while ja + 1 < ea and jb + 1 < eb:
        a0 = pa + ca[ja]
        b0 = pb + cb[jb]
        if a0 >= hi or b0 >= hi:
            break
        a1, b1 = a0 + ca[ja + 1], b0 + cb[jb + 1]
        w = min(a1, b1) - max(a0, b0)
        if w > 0:
            inter += w
        if a1 <= b1:
            pa, ja = a1, ja + 2
        else:
            pb, jb = b1, jb + 2
    return inter


@njit
def _iou_of(inter, area_a, area_b, crowd):
    """``rleIou``'s ratio from the intersection of canonical masks: its merge counts the union
    ``area_a + area_b - intersection`` (``area_a``, the detection's, for a crowd ground truth);
    0 without intersection (``rleIou``: union 1)."""
    if inter == 0:
        return 0.0
    union = area_a if crowd else area_a + area_b - inter
    return np.float64(inter) / np.float64(union)


@njit
def pair_f1(da, sa, ea, ga, sb, eb, num_attrs):
    """F1 of two sorted unique index lists as 0/1 vectors of ``num_attrs`` (sklearn macro)."""
    i, j, tp = sa, sb, 0
    while i < ea and j < eb:
        if da[i] == ga[j]:
            tp += 1
            i += 1
            j += 1
        elif da[i] < ga[j]:
            i += 1
        else:
            j += 1
    fp, fn = (ea - sa) - tp, (eb - sb) - tp
    tn = num_attrs - tp - fp - fn
    has_pos, has_neg = tp + fp + fn > 0, tn + fp + fn > 0
    f_pos = (2 * tp) / ((tp + fn) + (tp + fp)) if has_pos else 0.0
    f_neg = (2 * tn) / ((tn + fp) + (tn + fn)) if has_neg else 0.0
    if has_pos and has_neg:
        return (f_neg + f_pos) / 2
    return f_pos if has_pos else f_neg


@pjit
def pair_ious(grp_dt, grp_gt, pair_off, visit, segm, d_idx, dt_cnt, dt_s, dt_e, dt_hw, dt_box,
              dt_area, dt_canon, g_idx, gt_cnt, gt_s, gt_e, gt_hw, gt_box, gt_area, gt_canon,
              gt_crowd):
    """IoU of every (detection, ground truth) pair of each group, row-major (d, g), as
    ``COCOeval.computeIoU``: ``bbIou`` of the boxes; for masks, ``rleIou`` (which is 0 unless the
    mask boxes overlap, and -1 for masks of different sizes). Detection d of the groups is
    ``d_idx[d]`` of the ``dt_*`` columns, ground truth g ``g_idx[g]`` of the ``gt_*``. ``*_box``
    holds, for masks, the x range (xs, xe) of each mask (``rle_extents``; masks in disjoint
    columns do not meet), ``*_area``, ``*_canon`` its pixel count and canonical flag. Groups
    are computed in the order ``visit`` (a permutation of the groups): the order of their
    masks in memory (see ``FashionpediaEval._pair_ious``)."""
    ious = np.zeros(pair_off[-1])
    for i in numba.prange(len(visit)):
        _group_ious(visit[i], grp_dt, grp_gt, pair_off, segm, d_idx, dt_cnt, dt_s, dt_e, dt_hw,
                    dt_box, dt_area, dt_canon, g_idx, gt_cnt, gt_s, gt_e, gt_hw, gt_box, gt_area,
                    gt_canon, gt_crowd, ious)
    return ious


@njit
def _group_ious(k, grp_dt, grp_gt, pair_off, segm, d_idx, dt_cnt, dt_s, dt_e, dt_hw, dt_box,
                dt_area, dt_canon, g_idx, gt_cnt, gt_s, gt_e, gt_hw, gt_box, gt_area, gt_canon,
                gt_crowd, ious):
    d0, d1, g0, g1, po = grp_dt[k], grp_dt[k + 1], grp_gt[k], grp_gt[k + 1], pair_off[k]
    for i in range(d1 - d0):
        d = d_idx[d0 + i]
        for j in range(g1 - g0):
            g = g_idx[g0 + j]
            if not segm:
                o = box_iou(dt_box[d], gt_box[g], gt_crowd[g])
            elif dt_box[d, 1] < gt_box[g, 0] or gt_box[g, 1] < dt_box[d, 0]:
                o = 0.0  # includes empty masks (x range (1, 0))
            elif dt_hw[d, 0] != gt_hw[g, 0] or dt_hw[d, 1] != gt_hw[g, 1]:
                bd = rle_bbox(dt_cnt, dt_s[d], dt_e[d], dt_hw[d, 0])
                bg = rle_bbox(gt_cnt, gt_s[g], gt_e[g], gt_hw[g, 0])
                o = -1.0 if box_iou(bd, bg, gt_crowd[g]) > 0 else 0.0
            elif not (dt_canon[d] and gt_canon[g]):
                o = rle_iou_merge(dt_cnt, dt_s[d], dt_e[d], gt_cnt, gt_s[g], gt_e[g], gt_crowd[g])
            else:
                h = dt_hw[d, 0]
                inter = rle_intersection(dt_cnt, dt_s[d], dt_e[d], gt_cnt, gt_s[g], gt_e[g],
                                         max(dt_box[d, 0], gt_box[g, 0]) * h,
                                         (min(dt_box[d, 1], gt_box[g, 1]) + 1) * h)
                o = _iou_of(inter, dt_area[d], gt_area[g], gt_crowd[g])
            ious[po + i * (g1 - g0) + j] = o


@njit
def pair_f1s(grp_dt, grp_gt, pair_off, grp_attr, dt_attr, dt_attr_off, gt_attr, gt_attr_off,
             num_attrs):
    """Attribute F1 of every pair of the groups whose category carries attributes (else 0)."""
    f1s = np.zeros(pair_off[-1])
    for k in range(len(pair_off) - 1):
        if not grp_attr[k]:
            continue
        d0, d1, g0, g1, po = grp_dt[k], grp_dt[k + 1], grp_gt[k], grp_gt[k + 1], pair_off[k]
        for d in range(d0, d1):
            for g in range(g0, g1):
                f1s[po + (d - d0) * (g1 - g0) + (g - g0)] = pair_f1(dt_attr, dt_attr_off[d],
                                                                    dt_attr_off[d + 1], gt_attr,
                                                                    gt_attr_off[g],
                                                                    gt_attr_off[g + 1], num_attrs)
    return f1s


@njit
def _greedy(ious, f1s, po, nd, ng, gind, ign, reusable, iou_thr, f1_thr, use_f1, taken, out):
    """One threshold pair of the official scan; ``out[d]``: matched ground truth or -1."""
    taken[:] = False
    for d in range(nd):
        best_iou, best_f1, m = min(iou_thr, 1 - 1e-10), min(f1_thr, 1 - 1e-10), -1
        for gi in range(ng):
            g = gind[gi]
            if taken[g] and not reusable[g]:
                continue
            if m > -1 and not ign[m] and ign[g]:  # matched a regular one, only ignored left
                break
            v = ious[po + d * ng + g]
            if v < best_iou:
                continue
            if use_f1:
                fv = f1s[po + d * ng + g]
                if fv < best_f1:
                    continue
                best_f1 = fv
            best_iou, m = v, g
        out[d] = m
        if m > -1:
            taken[m] = True


@njit
def _same_thresholds(values, po, n, thrs):
    """For each threshold, the first threshold that admits the same pairs of a group.

    ``_greedy`` admits a pair at threshold x if its value >= min(x, 1 - 1e-10); after the first
    admitted pair it compares with the pair it holds, not with x. So two thresholds that admit
    the same pairs match identically, and the admitted sets are nested: equal counts, same set.
    """
    count = np.zeros(len(thrs), np.int64)
    for i in range(len(thrs)):
        x = min(thrs[i], 1 - 1e-10)
        for j in range(po, po + n):
            if values[j] >= x:
                count[i] += 1
    rep = np.arange(len(thrs))
    for i in range(len(thrs)):
        for j in range(i):
            if count[j] == count[i]:
                rep[i] = j
                break
    return rep


@pjit
def match_groups(grp_dt, grp_gt, pair_off, grp_attr, ious, f1s, gt_area, gt_ignore, gt_crowd, gt_id,
                 area_lo, area_hi, iou_thrs, f1_thrs, addr, stride, codes, num_gt):
    """Matching of every group (image, category), area range and threshold pair.

    Into ``codes`` (flat int8, zeros on entry), for detection d and column c = (a * T + t) *
    (F + 1) + f at ``addr[d] + c * stride[d]``: ``MATCHED`` (a regular ground truth whose id
    is not 0: a TP), ``MATCHED_IGNORED`` (an ignored ground truth: ignored), or nothing
    (unmatched: a FP, or ignored if the detection is outside the area range, which the
    accumulation reads from its area). Only matches are written, so a group without ground
    truths costs nothing. Into ``num_gt`` (groups, A), zeros on entry: regular ground truths.
    """
    for k in numba.prange(len(grp_dt) - 1):
        _match_group(k, grp_dt, grp_gt, pair_off, grp_attr, ious, f1s, gt_area, gt_ignore, gt_crowd,
                     gt_id, area_lo, area_hi, iou_thrs, f1_thrs, addr, stride, codes, num_gt)


@njit
def _match_group(k, grp_dt, grp_gt, pair_off, grp_attr, ious, f1s, gt_area, gt_ignore, gt_crowd,
                 gt_id, area_lo, area_hi, iou_thrs, f1_thrs, addr, stride, codes, num_gt):
    A, T, F = len(area_lo), len(iou_thrs), len(f1_thrs)
    F1 = F + 1
    d0, nd, g0 = grp_dt[k], grp_dt[k + 1] - grp_dt[k], grp_gt[k]
    ng = grp_gt[k + 1] - g0
    if ng == 0:
        return
    with_attr = grp_attr[k]
    ign_all = np.zeros((A, ng), np.bool_)
    m_all = np.full((A, T, F1, max(nd, 1)), -1, np.int64)
    taken = np.zeros(ng, np.bool_)
    reusable = np.zeros(ng, np.bool_)
    no_reuse = np.zeros(ng, np.bool_)
    for g in range(ng):
        reusable[g] = gt_crowd[g0 + g]
    t_rep = _same_thresholds(ious, pair_off[k], nd * ng, iou_thrs)
    f_rep = _same_thresholds(f1s, pair_off[k], nd * ng if with_attr else 0, f1_thrs)
    for a in range(A):
        for g in range(ng):
            ar = gt_area[g0 + g]
            ign_all[a, g] = gt_ignore[g0 + g] or ar < area_lo[a] or ar > area_hi[a]
            num_gt[k, a] += not ign_all[a, g]
        if nd == 0:
            continue
        same = -1  # area ranges with the same ignore flags match identically
        for b in range(a):
            if same < 0 and np.all(ign_all[b] == ign_all[a]):
                same = b
        if same >= 0:
            m_all[a] = m_all[same]
        else:
            ign = ign_all[a]
            gind = np.argsort(ign, kind='mergesort')
            for t in range(T):  # a repeated threshold reads its first one's matching
                if t_rep[t] != t:
                    continue
                for f in range(F if with_attr else 0):
                    if f_rep[f] == f:
                        _greedy(ious, f1s, pair_off[k], nd, ng, gind, ign, no_reuse, iou_thrs[t],
                                f1_thrs[f], True, taken, m_all[a, t, f])
                # COCOeval's matching (crowds reusable, no F1): column F, and every column
                # of a category without attributes
                _greedy(ious, f1s, pair_off[k], nd, ng, gind, ign, reusable, iou_thrs[t], -1.0,
                        False, taken, m_all[a, t, F])
        for t in range(T):  # equal admitted pairs give equal matchings: read the first
            for f in range(F1):
                fm = F if f == F or not with_attr else f_rep[f]
                _write_codes(m_all[a, t_rep[t], fm], nd, d0, g0, ign_all[a], gt_id, addr, stride,
                             (a * T + t) * F1 + f, codes)


@njit
def _write_codes(matches, nd, d0, g0, ign, gt_id, addr, stride, c, codes):
    """One column's codes of a group's detections from their matched ground truths."""
    for d in range(nd):
        m = matches[d]
        if m < 0:
            continue
        if ign[m]:
            codes[addr[d0 + d] + c * stride[d0 + d]] = MATCHED_IGNORED
        elif gt_id[g0 + m] != 0:  # ids are stored; 0 = none
            codes[addr[d0 + d] + c * stride[d0 + d]] = MATCHED
