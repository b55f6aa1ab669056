"""Compiled (numba) accumulation of :class:`FashionpediaEval`: the precision/recall curves of
every (IoU threshold, F1 column, category, area range, max detections) from the match codes of
``fp_kernels.match_groups`` (``COCOeval.accumulate`` / ``FPEval.accumulate``), with per-image
weights (all 1: the plain evaluation; resample counts: the bootstrap, ``bootstrap.py``).

Each curve reads one contiguous row of codes (a category's detections in score order) and does
work only at its matches: a detection that counts is a false positive exactly when it is
unmatched and inside the area range, so the false positives before a detection are the weight
of the detections inside the range so far (one running sum per category and area, shared by
all 132 threshold columns) minus the matched ones among them. With integer weights every sum is
an integer below 2**53, so these are the same floats as ``COCOeval``'s cumulative sums
(``FashionpediaEval.accumulate`` refuses other weights).
"""
import numba
import numpy as np

from .fp_kernels import MATCHED, njit, pjit

FP, TP, IGNORED = 0, 1, 2  # COCOeval's states, as the bootstrap's slots store them


@njit
def _inside(order, s0, n, d_area, lo, hi, out):
    """Whether each of a category's detections (score order) is inside the area range."""
    for p in range(n):
        ar = d_area[order[s0 + p]]
        out[p] = not (ar < lo or ar > hi)


@njit
def _curve(codes, c0, mpos, m0, m1, s0, w, win, inside, npig, rec_thrs, rc, pr, q):
    """Precision at the recall thresholds (into ``q``) and the final recall of one PR curve:
    the codes ``codes[c0:c0 + m1 - m0]`` of a category's detections with ground truth in their
    group, at positions ``mpos[m0:m1] - s0`` of its score order; ``w``: the weights of the
    category's detections (0: does not count), ``win`` the running weight of those inside the
    area range.

    ``COCOeval.accumulate``: cumulated TPs/FPs, rc = tp / npig, pr = tp / (tp + fp + eps), pr
    made non-increasing from the right, then read at the first rc >= each threshold. The points
    are computed at TPs only (the same floats from the same sums): recall rises only at a TP, so
    the first point reaching a threshold > 0 is a TP, and precision falls at every FP, so the
    maximum to the right of a TP is reached at a TP (threshold 0 reads the maximum of all
    points, again a TP's, or 0 without TPs, as COCO).
    """
    tp, matched_in, m = 0.0, 0.0, 0
    eps = np.spacing(1.0)
    for j in range(m1 - m0):
        code = codes[c0 + j]
        if code == 0:  # unmatched: counted by ``win``
            continue
        p = mpos[m0 + j] - s0
        if w[p] == 0:
            continue
        if inside[p]:
            matched_in += w[p]
        if code == MATCHED:
            tp += w[p]
            rc[m] = tp / npig
            pr[m] = tp / ((win[p] - matched_in) + tp + eps)
            m += 1
    for i in range(m - 1, 0, -1):
        if pr[i] > pr[i - 1]:
            pr[i - 1] = pr[i]
    q[:] = 0.0
    i = 0
    for r in range(len(rec_thrs)):
        while i < m and rc[i] < rec_thrs[r]:
            i += 1
        if i >= m:
            break
        q[r] = pr[i]
    return rc[m - 1] if m else 0.0


@njit
def _num_gt(grp_cat, grp_img, num_gt, weights, K, area):
    npig = np.zeros(K)
    for g in range(len(grp_cat)):
        npig[grp_cat[g]] += weights[grp_img[g]] * num_gt[g, area]
    return npig


@njit
def balanced_order(cost, num_threads):
    """``num_threads`` lists of item indices, dealt round-robin from the most costly item down,
    laid end to end (thread i's: ``items[ptr[i]:ptr[i + 1]]``). ``prange`` splits its range into
    equal contiguous chunks, and the work is not spread evenly: groups and categories come in
    category order, and the 13 attribute-carrying categories at the front cost 6x the others.
    (Not used for the matching's 35k small groups: there the lost locality cost what the
    balance gained.)"""
    by_cost = np.argsort(-cost, kind='mergesort')
    items, ptr = np.empty(len(cost), np.int64), np.zeros(num_threads + 1, np.int64)
    n = 0
    for th in range(num_threads):
        for i in range(th, len(cost), num_threads):
            items[n] = by_cost[i]
            n += 1
        ptr[th + 1] = n
    return items, ptr


@pjit
def accumulate(order, cat_ptr, rank, img, d_area, area_lo, area_hi, codes, mpos, mcat_ptr, T, F1,
               grp_cat, grp_img, num_gt, cat_attr, max_dets, rec_thrs, weights, areas, num_threads,
               precision, recall):
    """Into ``precision`` (K, len(areas), M, T, F1, R) and ``recall`` (K, len(areas), M, T,
    F1), uninitialised on entry (-1 where undefined): each curve's values contiguous
    (``FashionpediaEval`` hands out the official (T, F1, R, K, A, M) views of them).

    ``order[cat_ptr[k]:cat_ptr[k + 1]]``: category k's detections by score (ties: image order,
    then rank in the image); ``codes``: ``match_groups``'s, category k's block at
    ``mcat_ptr[k] * C`` (C = areas x T x F1 columns of its detections with ground truth in
    their group, at score-order positions ``mpos[mcat_ptr[k]:mcat_ptr[k + 1]]``). Categories
    whose *index* has no attributes fill columns F1 - 2 and F1 - 1 only.
    """
    K, A = len(cat_ptr) - 1, len(areas)
    npig = np.zeros((K, A))
    for ai in range(A):
        npig[:, ai] = _num_gt(grp_cat, grp_img, num_gt, weights, K, areas[ai])
    cost = np.zeros(K)
    for k in range(K):
        cost[k] = (cat_ptr[k + 1] - cat_ptr[k]) * (F1 if cat_attr[k] else 2)
    items, ptr = balanced_order(cost, num_threads)
    for th in numba.prange(len(ptr) - 1):
        for i in range(ptr[th], ptr[th + 1]):
            _accumulate_category(items[i], order, cat_ptr, rank, img, d_area, area_lo, area_hi,
                                 codes, mpos, mcat_ptr, T, F1, npig, cat_attr, max_dets, rec_thrs,
                                 weights, areas, precision, recall)


@njit
def _accumulate_category(k, order, cat_ptr, rank, img, d_area, area_lo, area_hi, codes, mpos,
                         mcat_ptr, T, F1, npig, cat_attr, max_dets, rec_thrs, weights, areas,
                         precision, recall):
    M, A = len(max_dets), len(areas)
    C = len(area_lo) * T * F1
    s0, n = cat_ptr[k], cat_ptr[k + 1] - cat_ptr[k]
    m0, m1 = mcat_ptr[k], mcat_ptr[k + 1]
    precision[k] = -1.0  # undefined until computed (filled here, in parallel, not by numpy)
    recall[k] = -1.0
    size = max(n, 1)
    w, win, inside = np.empty(size), np.empty(size), np.empty((A, size), np.bool_)
    rc, pr = np.empty(size), np.empty(size)
    for ai in range(A):
        _inside(order, s0, n, d_area, area_lo[areas[ai]], area_hi[areas[ai]], inside[ai])
    n_prev = -1
    for mi in range(M):
        n_sel = 0
        for p in range(n):
            d = order[s0 + p]
            w[p] = weights[img[d]] if rank[d] < max_dets[mi] else 0.0
            n_sel += w[p] > 0
        if n_sel == n_prev:  # rank < max_det selects the same detections (nested): copy
            precision[k, :, mi] = precision[k, :, mi - 1]
            recall[k, :, mi] = recall[k, :, mi - 1]
            continue
        n_prev = n_sel
        for ai in range(A):
            if npig[k, ai] == 0:
                continue
            acc = 0.0
            for p in range(n):
                if inside[ai, p]:
                    acc += w[p]
                win[p] = acc
            for t in range(T):
                for f in range(F1):
                    if not cat_attr[k] and f < F1 - 2:
                        continue
                    c0 = m0 * C + ((areas[ai] * T + t) * F1 + f) * (m1 - m0)
                    recall[k, ai, mi, t,
                           f] = _curve(codes, c0, mpos, m0, m1, s0, w, win, inside[ai], npig[k, ai],
                                       rec_thrs, rc, pr, precision[k, ai, mi, t, f])


@njit
def headline_slots(order, cat_ptr, rank, img, d_area, lo, hi, codes, mq, mcat_ptr, T, F1, C,
                   cat_attr, max_det, area):
    """What the bootstrap needs of one evaluation, computed once: per category the detections
    that count (rank < ``max_det``, score order) and, per (t, f) column of a headline slice,
    only its TPs and ignored detections (positions in that list).

    Why only those: precision falls at every FP, so the interpolated precision at a recall
    threshold (the maximum to the right of the first point reaching it) is always reached at a
    TP, and the FP count at a TP is (all detections so far) - TPs - ignored. Exact for integer
    weights (every sum is an integer below 2**53). ``lo``, ``hi``: the range of ``area``;
    ``mq``: each score-order position's index among the detections with codes, -1 if none.

    Returns ``sel_img`` (the image of each detection that counts, by category), ``sel_ptr``
    (K + 1), ``slot_cat``, ``slot_kind`` (bits 1 COCO mAP, 2 AP IoU+F1, 4 AP IoU, 8 AP F1),
    ``slot_ptr``, ``spec_pos``, ``spec_img``, ``spec_tp``: images rather than detections, as a
    resample only changes the weight of each image.
    """
    F, K = F1 - 1, len(cat_ptr) - 1
    sel = np.empty(len(order), np.int64)
    sel_ptr = np.zeros(K + 1, np.int64)
    n = 0
    for k in range(K):
        for j in range(cat_ptr[k], cat_ptr[k + 1]):
            if rank[order[j]] < max_det:
                sel[n] = j  # position in the score order
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
    state = np.empty(n, np.int8)  # COCOeval's state of each detection that counts, one slot
    slot_ptr = np.zeros(S + 1, np.int64)
    total = 0
    for si in range(S):
        _slot_states(order, sel, sel_ptr, d_area, lo, hi, codes, mq, mcat_ptr, T, F1, C, area,
                     slot_cat[si], slot_t[si], slot_f[si], state)
        for j in range(sel_ptr[slot_cat[si]], sel_ptr[slot_cat[si] + 1]):
            total += state[j] != FP
        slot_ptr[si + 1] = total
    spec_pos = np.empty(total, np.int64)
    spec_img = np.empty(total, np.int64)
    spec_tp = np.empty(total, np.bool_)
    e = 0
    for si in range(S):
        k = slot_cat[si]
        _slot_states(order, sel, sel_ptr, d_area, lo, hi, codes, mq, mcat_ptr, T, F1, C, area, k,
                     slot_t[si], slot_f[si], state)
        for j in range(sel_ptr[k], sel_ptr[k + 1]):
            if state[j] != FP:
                spec_pos[e] = j - sel_ptr[k]
                spec_img[e] = img[order[sel[j]]]
                spec_tp[e] = state[j] == TP
                e += 1
    sel_img = np.empty(n, np.int64)
    for j in range(n):
        sel_img[j] = img[order[sel[j]]]
    cats, kinds = np.array(slot_cat, np.int64), np.array(slot_kind, np.int64)
    return sel_img, sel_ptr, cats, kinds, slot_ptr, spec_pos, spec_img, spec_tp


@njit
def _slot_states(order, sel, sel_ptr, d_area, lo, hi, codes, mq, mcat_ptr, T, F1, C, area, k, t, f,
                 state):
    """COCOeval's state (FP / TP / IGNORED) of category k's detections that count, one column."""
    m0, m1 = mcat_ptr[k], mcat_ptr[k + 1]
    c0 = m0 * C + ((area * T + t) * F1 + f) * (m1 - m0)
    for j in range(sel_ptr[k], sel_ptr[k + 1]):
        code = codes[c0 + mq[sel[j]] - m0] if mq[sel[j]] >= 0 else 0
        if code == MATCHED:
            state[j] = TP
        elif code != 0:
            state[j] = IGNORED
        else:
            ar = d_area[order[sel[j]]]
            state[j] = IGNORED if ar < lo or ar > hi else FP


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
