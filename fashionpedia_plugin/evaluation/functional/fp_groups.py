"""Compiled (numba) kernels that lay the evaluated annotations out by (category, image) group.

What ``FashionpediaEval._flatten`` and ``evaluate`` did with numpy sorts and gathers (a third of
an evaluation at val scale on a 2-core CPU: a 3-key ``lexsort`` of 116k detections, ``union1d``,
fancy indexing of a dozen columns, the attribute lists built with ``repeat``/``isin``), as
linear passes:
- ``counting_sort``: a stable sort by an integer key in ``[0, n_keys)`` (the group key);
- ``segment_argsort``: a stable ascending sort inside each segment (scores inside a group or a
  category; NaN last, as numpy's), the same permutation as ``np.argsort(kind='stable')`` per
  segment;
- ``attribute_lists``: each annotation's attribute ids as sorted unique indices into the
  ground truth's attribute list (what ``pair_f1`` reads), unknown ids counted.
"""
import numba
import numpy as np

from .fp_kernels import njit, pjit

INSERTION_MAX = 32  # segments up to this long: insertion sort; longer: numba's mergesort


@njit
def counting_sort(keys, n_keys):
    """Positions of ``keys`` (int64 (n,), each in ``[0, n_keys)``) sorted by key, equal keys in
    position order, and each key's ``[ptr[k], ptr[k + 1])`` in that order (int64 (n_keys + 1,))."""
    ptr = np.zeros(n_keys + 1, np.int64)
    for i in range(len(keys)):
        ptr[keys[i] + 1] += 1
    for k in range(n_keys):
        ptr[k + 1] += ptr[k]
    fill = ptr[:-1].copy()
    out = np.empty(len(keys), np.int64)
    for i in range(len(keys)):
        out[fill[keys[i]]] = i
        fill[keys[i]] += 1
    return out, ptr


@njit
def _less(a, b):
    """``a`` sorts before ``b`` (ascending, NaN last, as numpy)."""
    return a < b or (b != b and a == a)


@pjit
def segment_argsort(values, items, ptr):
    """``items`` (int64 (n,)) reordered inside each segment ``[ptr[s], ptr[s + 1])`` by
    ``values[items]`` ascending, ties (and NaNs, last) in their given order."""
    out = items.copy()
    for s in numba.prange(len(ptr) - 1):
        lo, hi = ptr[s], ptr[s + 1]
        if hi - lo <= INSERTION_MAX:
            for i in range(lo + 1, hi):
                x = out[i]
                v = values[x]
                j = i - 1
                while j >= lo and _less(v, values[out[j]]):
                    out[j + 1] = out[j]
                    j -= 1
                out[j + 1] = x
        else:
            seg = out[lo:hi].copy()
            perm = np.argsort(values[seg], kind='mergesort')
            for i in range(hi - lo):
                out[lo + i] = seg[perm[i]]
    return out


@pjit
def attribute_lists(attr_ids, attr_off, idx, sorted_ids, sorted_pos, check):
    """The attributes of annotations ``idx`` (CSR ``attr_ids``/``attr_off`` of the source
    columns) as sorted unique indices into the ground truth's attribute list (``sorted_ids``
    ascending, ``sorted_pos[j]``: the list position of ``sorted_ids[j]``; the first position
    of an id listed twice, as a stable argsort). An id not in the list becomes its own
    negative value (-1 - its source position: unique, matching nothing) and is counted in
    ``unknown[i]`` where ``check[i]``.

    Returns:
        tuple: values (int64), offsets (int64 (len(idx) + 1,)), unknown (int64 (len(idx),)).
    """
    n = len(idx)
    off = np.zeros(n + 1, np.int64)
    for i in range(n):
        off[i + 1] = off[i] + attr_off[idx[i] + 1] - attr_off[idx[i]]
    buf = np.empty(off[n], np.int64)
    size = np.zeros(n, np.int64)
    unknown = np.zeros(n, np.int64)
    for i in numba.prange(n):
        s0, m = attr_off[idx[i]], off[i]
        k = off[i + 1] - m
        for t in range(k):
            a = attr_ids[s0 + t]
            p = np.searchsorted(sorted_ids, a) if len(sorted_ids) else 0
            if p < len(sorted_ids) and sorted_ids[p] == a:
                v = sorted_pos[p]
            else:
                v = -1 - (s0 + t)
                unknown[i] += check[i]
            j = m + t - 1  # insertion into the sorted prefix
            while j >= m and buf[j] > v:
                buf[j + 1] = buf[j]
                j -= 1
            buf[j + 1] = v
        u = 0
        for t in range(k):
            if t == 0 or buf[m + t] != buf[m + t - 1]:
                buf[m + u] = buf[m + t]
                u += 1
        size[i] = u
    out_off = np.zeros(n + 1, np.int64)
    for i in range(n):
        out_off[i + 1] = out_off[i] + size[i]
    out = np.empty(out_off[n], np.int64)
    for i in numba.prange(n):
        for t in range(size[i]):
            out[out_off[i] + t] = buf[off[i] + t]
    return out, out_off, unknown
