"""Compiled (numba) kernels of :class:`FashionpediaEval`: RLE decoding, mask/box IoU, attribute
F1, the greedy matching for every threshold pair, and the (optionally image-weighted)
accumulation.

Each kernel is a line-by-line port of the C or Python it replaces, so that every float is the
same operation on the same operands (the parity tests compare with ``FPEval`` and ``COCOeval``):
- ``decode_rle_strings``, ``rle_bbox``, ``rle_areas``, ``rle_iou``, ``box_iou``: pycocotools
  ``maskApi.c`` (``rleFrString``, ``rleToBbox``, ``rleArea``, ``rleIou``, ``bbIou``);
- ``pair_f1``: sklearn ``f1_score(average='macro')`` on two 0/1 vectors (see ``binary_macro_f1``);
- ``match_groups``: ``COCOeval.evaluateImg`` and ``FPEval.evaluateImg``;
- ``accumulate``: ``COCOeval.accumulate`` / ``FPEval.accumulate``, with per-image weights (all 1:
  the plain evaluation; resample counts: the bootstrap, see ``bootstrap.py``).

Detection states in ``state[a, t, f, d]``: 0 false positive, 1 true positive, 2 ignored.
Column ``f == F`` (one past the F1 thresholds) holds plain COCO matching (crowd exception for
every category, no F1), which gives COCO mAP from the same per-image matching.
Compiled on first use and cached beside this file (``cache=True``; a few seconds once).
"""
import numba
import numpy as np

njit = numba.njit(cache=True, nogil=True)
pjit = numba.njit(cache=True, nogil=True, parallel=True)  # prange over independent groups
FP, TP, IGNORED = 0, 1, 2


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
    1]]``) -> counts (int64) and each mask's ``[start, end)`` in them. The output is allocated
    by numpy (which asks for huge pages: an evaluation allocates tens of MB, and first touching
    them page by page cost more than decoding)."""
    lens = _rle_lengths(buf, offsets)
    ends = np.cumsum(lens)
    starts = ends - lens  # (n,) like ends, also for n = 0
    counts = np.empty(int(ends[-1]) if len(ends) else 0, np.int64)
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


@njit
def rle_areas(counts, starts, ends):
    """``rleArea`` of each mask: the sum of its odd runs (int64 (n,))."""
    out = np.zeros(len(starts), np.int64)
    for i in range(len(starts)):
        for j in range(starts[i] + 1, ends[i], 2):
            out[i] += counts[j]
    return out


@njit
def rle_columns(counts, starts, ends, heights):
    """First and last column holding a foreground pixel (= ``rleToBbox``'s x range) per mask;
    (1, 0) for an empty mask. Masks in columns that do not overlap do not intersect."""
    n = len(starts)
    xs, xe = np.ones(n, np.int64), np.zeros(n, np.int64)
    for i in range(n):
        s, e, h = starts[i], ends[i], heights[i]
        m = ((e - s) // 2) * 2
        if m == 0 or h == 0:
            continue
        last = -1
        for j in range(s, s + m):  # only adds: the column is one division at each end
            last += counts[j]
        xs[i], xe[i] = counts[s] // h, last // h
    return xs, xe


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
def rle_iou(ca_all, sa, ea, cb_all, sb, eb, crowd):
    """``rleIou`` of one pair whose boxes overlap: run-length merge, intersection / union."""
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


@njit
def unique_segments(values, offsets):
    """Sort and de-duplicate each segment of a CSR list (attribute indices per annotation)."""
    out = np.empty_like(values)
    out_off = np.zeros_like(offsets)
    m = 0
    for i in range(len(offsets) - 1):
        seg = np.sort(values[offsets[i]:offsets[i + 1]])
        for j in range(len(seg)):
            if j == 0 or seg[j] != seg[j - 1]:
                out[m] = seg[j]
                m += 1
        out_off[i + 1] = m
    return out[:m], out_off


@pjit
def pair_ious(grp_dt, grp_gt, pair_off, segm, dt_cnt, dt_s, dt_e, dt_hw, dt_box, gt_cnt, gt_s, gt_e,
              gt_hw, gt_box, gt_crowd):
    """IoU of every (detection, ground truth) pair of each group, row-major (d, g), as
    ``COCOeval.computeIoU``: ``bbIou`` of the boxes; for masks, ``rleIou`` (which is 0 unless the
    mask boxes overlap, and -1 for masks of different sizes). ``*_box`` holds, for masks, the
    x range (xs, xe) of each mask (``rle_columns``): masks in disjoint columns do not meet."""
    ious = np.zeros(pair_off[-1])
    for k in numba.prange(len(pair_off) - 1):
        d0, d1, g0, g1, po = grp_dt[k], grp_dt[k + 1], grp_gt[k], grp_gt[k + 1], pair_off[k]
        for d in range(d0, d1):
            for g in range(g0, g1):
                if not segm:
                    o = box_iou(dt_box[d], gt_box[g], gt_crowd[g])
                elif dt_box[d, 1] < gt_box[g, 0] or gt_box[g, 1] < dt_box[d, 0]:
                    o = 0.0  # includes empty masks (x range (1, 0))
                elif dt_hw[d, 0] != gt_hw[g, 0] or dt_hw[d, 1] != gt_hw[g, 1]:
                    bd = rle_bbox(dt_cnt, dt_s[d], dt_e[d], dt_hw[d, 0])
                    bg = rle_bbox(gt_cnt, gt_s[g], gt_e[g], gt_hw[g, 0])
                    o = -1.0 if box_iou(bd, bg, gt_crowd[g]) > 0 else 0.0
                else:
                    o = rle_iou(dt_cnt, dt_s[d], dt_e[d], gt_cnt, gt_s[g], gt_e[g], gt_crowd[g])
                ious[po + (d - d0) * (g1 - g0) + (g - g0)] = o
    return ious


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
                 dt_area, area_lo, area_hi, iou_thrs, f1_thrs, state, num_gt):
    """Matching of every group (image, category), area range and threshold pair into ``state``
    (A, T, F + 1, D) int8, zeros on entry, and ``num_gt`` (groups, A), zeros on entry: regular
    ground truths. A group without ground truths has only FPs and, out of the area range,
    ignored detections.
    """
    A, T, F = len(area_lo), len(iou_thrs), len(f1_thrs)
    n_grp = len(grp_dt) - 1
    for k in numba.prange(n_grp):
        d0, nd, g0 = grp_dt[k], grp_dt[k + 1] - grp_dt[k], grp_gt[k]
        ng = grp_gt[k + 1] - g0
        if nd == 0 and ng == 0:
            continue
        outside = np.zeros((A, max(nd, 1)), np.bool_)
        for a in range(A):
            for d in range(nd):
                outside[a, d] = dt_area[d0 + d] < area_lo[a] or dt_area[d0 + d] > area_hi[a]
        if ng == 0:
            for a in range(A):
                for d in range(nd):
                    if outside[a, d]:
                        state[a, :, :, d0 + d] = IGNORED
            continue
        with_attr = grp_attr[k]
        ign_all = np.zeros((A, ng), np.bool_)
        m_all = np.full((A, T, F + 1, max(nd, 1)), -1, np.int64)
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
            same = -1  # area ranges with the same ignore flags match identically
            for b in range(a):
                if same < 0 and np.all(ign_all[b] == ign_all[a]):
                    same = b
            if same >= 0:
                m_all[a] = m_all[same]
            elif nd > 0:
                ign = ign_all[a]
                gind = np.argsort(ign, kind='mergesort')
                for t in range(T):  # a repeated threshold's states are copied below
                    if t_rep[t] != t:
                        continue
                    for f in range(F if with_attr else 0):
                        if f_rep[f] == f:
                            _greedy(ious, f1s, pair_off[k], nd, ng, gind, ign, no_reuse,
                                    iou_thrs[t], f1_thrs[f], True, taken, m_all[a, t, f])
                    # COCOeval's matching (crowds reusable, no F1): column F, and every column
                    # of a category without attributes
                    _greedy(ious, f1s, pair_off[k], nd, ng, gind, ign, reusable, iou_thrs[t], -1.0,
                            False, taken, m_all[a, t, F])
            for t in range(T):  # equal matchings (same admitted pairs) give equal states
                if t_rep[t] != t:
                    state[a, t, :, d0:d0 + nd] = state[a, t_rep[t], :, d0:d0 + nd]
                    continue
                _fill_state(state, a, t, F, d0, nd, m_all[a, t, F], gt_id, g0, ign_all[a],
                            outside[a])
                for f in range(F):
                    if not with_attr:  # COCO's matching in every column
                        state[a, t, f, d0:d0 + nd] = state[a, t, F, d0:d0 + nd]
                    elif f_rep[f] != f:
                        state[a, t, f, d0:d0 + nd] = state[a, t, f_rep[f], d0:d0 + nd]
                    else:
                        _fill_state(state, a, t, f, d0, nd, m_all[a, t, f], gt_id, g0, ign_all[a],
                                    outside[a])


@njit
def _fill_state(state, a, t, f, d0, nd, matches, gt_id, g0, ign, outside):
    """TP / ignored (FP stays 0) of a group's detections from their matched ground truths."""
    for d in range(nd):
        m = matches[d]
        matched = m > -1 and gt_id[g0 + m] != 0  # ids are stored; 0 = none
        if (m > -1 and ign[m]) or (not matched and outside[d]):
            state[a, t, f, d0 + d] = IGNORED
        elif matched:
            state[a, t, f, d0 + d] = TP


@njit
def _select(order, s0, s1, rank, max_det, img, weights, idx, wts):
    """Category detections in score order that count: rank < max_det, image weight > 0."""
    n = 0
    for j in range(s0, s1):
        d = order[j]
        if rank[d] < max_det and weights[img[d]] > 0:
            idx[n], wts[n] = d, weights[img[d]]
            n += 1
    return n


@njit
def _curve(idx, wts, n_sel, st, npig, rec_thrs, rc, pr, q):
    """Precision at the recall thresholds (into ``q``) and the final recall of one PR curve.

    ``COCOeval.accumulate``: cumulated TPs/FPs, rc = tp / npig, pr = tp / (tp + fp + eps),
    pr made non-increasing from the right, then read at the first rc >= each threshold.
    Ignored detections add to neither sum, so leaving them out changes no value read. The
    points are computed at TPs only (the same floats from the same sums): recall rises only at
    a TP, so the first point reaching a threshold > 0 is a TP, and precision falls at every FP,
    so the maximum to the right of a TP is reached at a TP (threshold 0 reads the maximum of
    all points, again a TP's, or 0 without TPs, as COCO).
    """
    tp, fp, n = 0.0, 0.0, 0
    eps = np.spacing(1.0)
    for j in range(n_sel):
        s = st[idx[j]]
        if s == FP:
            fp += wts[j]
        elif s == TP:
            tp += wts[j]
            rc[n] = tp / npig
            pr[n] = tp / (fp + tp + eps)
            n += 1
    for i in range(n - 1, 0, -1):
        if pr[i] > pr[i - 1]:
            pr[i - 1] = pr[i]
    q[:] = 0.0
    p = 0
    for r in range(len(rec_thrs)):
        while p < n and rc[p] < rec_thrs[r]:
            p += 1
        if p >= n:
            break
        q[r] = pr[p]
    return rc[n - 1] if n else 0.0


@njit
def _num_gt(grp_cat, grp_img, num_gt, weights, K, area):
    npig = np.zeros(K)
    for g in range(len(grp_cat)):
        npig[grp_cat[g]] += weights[grp_img[g]] * num_gt[g, area]
    return npig


@pjit
def accumulate(order, cat_ptr, rank, img, state, grp_cat, grp_img, num_gt, cat_attr, max_dets,
               rec_thrs, weights, areas, precision, recall):
    """Into ``precision`` (T, F + 1, R, K, len(areas), M) and ``recall`` (T, F + 1, K,
    len(areas), M), both -1 on entry.

    ``order[cat_ptr[k]:cat_ptr[k + 1]]``: category k's detections by score (ties: image order,
    then rank in the image). Categories whose *index* has no attributes fill columns F - 1 and F.
    """
    T, F1 = state.shape[1], state.shape[2]
    K, M, R, A = len(cat_ptr) - 1, len(max_dets), len(rec_thrs), len(areas)
    npig = np.zeros((K, A))
    for ai in range(A):
        npig[:, ai] = _num_gt(grp_cat, grp_img, num_gt, weights, K, areas[ai])
    for k in numba.prange(K):
        size = max(cat_ptr[k + 1] - cat_ptr[k], 1)
        idx, wts = np.empty(size, np.int64), np.empty(size)
        rc, pr, q = np.empty(size), np.empty(size), np.empty(R)
        n_prev = -1
        for mi in range(M):
            n_sel = _select(order, cat_ptr[k], cat_ptr[k + 1], rank, max_dets[mi], img, weights,
                            idx, wts)
            if n_sel == n_prev:  # rank < max_det selects the same detections (nested): copy
                precision[:, :, :, k, :, mi] = precision[:, :, :, k, :, mi - 1]
                recall[:, :, k, :, mi] = recall[:, :, k, :, mi - 1]
                continue
            n_prev = n_sel
            for ai in range(A):
                if npig[k, ai] == 0:
                    continue
                for t in range(T):
                    for f in range(F1):
                        if not cat_attr[k] and f < F1 - 2:
                            continue
                        recall[t, f, k, ai, mi] = _curve(idx, wts, n_sel, state[areas[ai], t, f],
                                                         npig[k, ai], rec_thrs, rc, pr, q)
                        precision[t, f, :, k, ai, mi] = q


@njit
def headline_slots(order, cat_ptr, rank, img, state, cat_attr, max_det, area):
    """What the bootstrap needs of one evaluation, computed once: per category the detections
    that count (rank < ``max_det``, score order) and, per (t, f) column of a headline slice,
    only its TPs and ignored detections (positions in that list).

    Why only those: precision falls at every FP, so the interpolated precision at a recall
    threshold (the maximum to the right of the first point reaching it) is always reached at a
    TP, and the FP count at a TP is (all detections so far) - TPs - ignored. Exact for integer
    weights (every sum is an integer below 2**53).

    Returns ``sel_img`` (the image of each detection that counts, by category), ``sel_ptr``
    (K + 1), ``slot_cat``, ``slot_kind`` (bits 1 COCO mAP, 2 AP IoU+F1, 4 AP IoU, 8 AP F1),
    ``slot_ptr``, ``spec_pos``, ``spec_img``, ``spec_tp``: images rather than detections, as a
    resample only changes the weight of each image.
    """
    T, F1 = state.shape[1], state.shape[2]
    F, K = F1 - 1, len(cat_ptr) - 1
    sel = np.empty(len(order), np.int64)
    sel_ptr = np.zeros(K + 1, np.int64)
    n = 0
    for k in range(K):
        for j in range(cat_ptr[k], cat_ptr[k + 1]):
            if rank[order[j]] < max_det:
                sel[n] = order[j]
                n += 1
        sel_ptr[k + 1] = n
    slot_cat, slot_kind, slot_t, slot_f = [0], [0], [0], [0]
    slot_cat.pop(), slot_kind.pop(), slot_t.pop(), slot_f.pop()
    for k in range(K):
        for t in range(T):
            for f in range(F1):
                regular_t = t < T - 1
                # the headline slices this (t, f) column belongs to (FPEval._summarize)
                f1_col = (cat_attr[k] and f < F - 1) or (not cat_attr[k] and f == F - 1)
                kind = 1 if regular_t and f == F else 0
                kind |= 2 if regular_t and f1_col else 0
                kind |= 4 if regular_t and f == F - 1 else 0
                kind |= 8 if t == T - 1 and f1_col else 0
                if kind:
                    slot_cat.append(k)
                    slot_kind.append(kind)
                    slot_t.append(t)
                    slot_f.append(f)
    S = len(slot_cat)
    slot_ptr = np.zeros(S + 1, np.int64)
    total = 0
    for si in range(S):
        st = state[area, slot_t[si], slot_f[si]]
        k = slot_cat[si]
        for j in range(sel_ptr[k], sel_ptr[k + 1]):
            if st[sel[j]] != FP:
                total += 1
        slot_ptr[si + 1] = total
    spec_pos = np.empty(total, np.int64)
    spec_img = np.empty(total, np.int64)
    spec_tp = np.empty(total, np.bool_)
    e = 0
    for si in range(S):
        st = state[area, slot_t[si], slot_f[si]]
        k = slot_cat[si]
        for j in range(sel_ptr[k], sel_ptr[k + 1]):
            if st[sel[j]] != FP:
                spec_pos[e] = j - sel_ptr[k]
                spec_img[e] = img[sel[j]]
                spec_tp[e] = st[sel[j]] == TP
                e += 1
    sel_img = np.empty(n, np.int64)
    for j in range(n):
        sel_img[j] = img[sel[j]]
    cats, kinds = np.array(slot_cat, np.int64), np.array(slot_kind, np.int64)
    return sel_img, sel_ptr, cats, kinds, slot_ptr, spec_pos, spec_img, spec_tp


@pjit
def bootstrap_headline(sel_img, sel_ptr, slot_cat, slot_kind, slot_ptr, spec_pos, spec_img, spec_tp,
                       grp_cat, grp_img, num_gt, area, rec_thrs, weights):
    """Headline APs for each row of ``weights`` (B, images): (B, 4) = COCO mAP, AP IoU+F1,
    AP IoU, AP F1, each the mean of the valid precisions of its official slice (-1 if none).
    Inputs from ``headline_slots``; per resample O(detections + TPs + slots x R)."""
    K, R, B = len(sel_ptr) - 1, len(rec_thrs), weights.shape[0]
    eps = np.spacing(1.0)
    out = np.zeros((B, 4))
    max_n = 1
    for k in range(K):
        max_n = max(max_n, sel_ptr[k + 1] - sel_ptr[k])
    for b in numba.prange(B):
        w = weights[b]
        npig = _num_gt(grp_cat, grp_img, num_gt, w, K, area)
        sums, counts = np.zeros(4), np.zeros(4)
        cw, rcs, prs = np.empty(max_n), np.empty(max_n), np.empty(max_n)
        k_done = -1
        for si in range(len(slot_cat)):
            k = slot_cat[si]
            if npig[k] == 0:
                continue
            s0 = sel_ptr[k]
            if k != k_done:  # running weight of the category's detections in score order
                acc = 0.0
                for j in range(sel_ptr[k + 1] - s0):
                    acc += w[sel_img[s0 + j]]
                    cw[j] = acc
                k_done = k
            tp, ig, n = 0.0, 0.0, 0
            for e in range(slot_ptr[si], slot_ptr[si + 1]):
                wt = w[spec_img[e]]
                if wt == 0:
                    continue
                if spec_tp[e]:
                    tp += wt
                    fp = cw[spec_pos[e]] - tp - ig
                    rcs[n] = tp / npig[k]
                    prs[n] = tp / (fp + tp + eps)
                    n += 1
                else:
                    ig += wt
            for i in range(n - 1, 0, -1):
                if prs[i] > prs[i - 1]:
                    prs[i - 1] = prs[i]
            total, p = 0.0, 0
            for r in range(R):
                while p < n and rcs[p] < rec_thrs[r]:
                    p += 1
                if p >= n:
                    break
                total += prs[p]
            for i in range(4):
                if slot_kind[si] & (1 << i):
                    sums[i] += total
                    counts[i] += R
        for i in range(4):
            out[b, i] = sums[i] / counts[i] if counts[i] else -1.0
    return out
