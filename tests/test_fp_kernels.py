"""The evaluator's kernels one by one: the mask IoU against pycocotools ``maskUtils.iou``
(``maskApi.c rleIou``) pair by pair, the grouping sorts against numpy's stable sorts.

The evaluator's parity tests compare whole evaluations; these pin the shortcuts of
``fp_kernels.pair_ious`` one by one: the column window and the union from the two areas
(canonical masks), the line-by-line merge kept for masks that are not canonical, crowds,
masks of another size, empty masks and runs that wrap from one column to the next.
"""
import numpy as np
import pycocotools.mask as mask_utils
import pytest

from fashionpedia_plugin.evaluation.functional import fp_groups as grp
from fashionpedia_plugin.evaluation.functional import fp_kernels as kern
from fashionpedia_plugin.evaluation.functional.fp_columns import Columns


def _masks(rng, n, h, w):
    """Random masks: blobs, full columns (runs that wrap), thin strips, empty, full."""
    out = []
    for i in range(n):
        m = np.zeros((h, w), np.uint8)
        kind = i % 6
        if kind == 0:  # a blob with holes: several intervals per column
            y0, x0 = rng.integers(0, h // 2), rng.integers(0, w // 2)
            m[y0:y0 + rng.integers(1, h // 2 + 1), x0:x0 + rng.integers(1, w // 2 + 1)] = 1
            m[rng.random((h, w)) < 0.15] = 0
        elif kind == 1:  # whole columns: one run crosses many columns
            x0 = rng.integers(0, w)
            m[:, x0:x0 + rng.integers(1, 4)] = 1
        elif kind == 2:  # a horizontal strip
            y0 = rng.integers(0, h)
            m[y0:y0 + 2, rng.integers(0, w // 2):] = 1
        elif kind == 3:
            pass  # empty
        elif kind == 4:
            m[:] = 1
        else:
            m[rng.random((h, w)) < 0.5] = 1
        out.append(mask_utils.encode(np.asfortranarray(m)))
    return out


def _columns(rles):
    anns = [
        dict(id=i + 1, image_id=1, category_id=1, segmentation=r, area=1.0)
        for i, r in enumerate(rles)
    ]
    for a in anns:
        a['segmentation'] = dict(a['segmentation'], counts=a['segmentation']['counts'].decode())
    return Columns.from_annotations(anns, 'segm', None, score=False)


def _pair_ious(dt, gt, crowd):
    """All pairs of the detections and ground truths as one group."""
    d, g = _columns(dt), _columns(gt)
    grp_dt = np.array([0, len(dt)], np.int64)
    grp_gt = np.array([0, len(gt)], np.int64)
    pair_off = np.array([0, len(dt) * len(gt)], np.int64)
    shapes = [(c.counts, c.starts, c.ends, c.hw, c.xr, c.mask_area, c.canonical) for c in (d, g)]
    ious = kern.pair_ious(grp_dt, grp_gt, pair_off, np.zeros(1, np.int64), True, np.arange(len(dt)),
                          *shapes[0], np.arange(len(gt)), *shapes[1], np.asarray(crowd, bool))
    return ious.reshape(len(dt), len(gt)), d, g


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_mask_ious_equal_pycocotools(seed):
    rng = np.random.default_rng(seed)
    h, w = 13, 11  # small: runs wrap between columns often
    dt, gt = _masks(rng, 24, h, w), _masks(rng, 18, h, w)
    gt += _masks(rng, 2, 7, 5)  # another size: -1 where the boxes overlap, as rleIou
    crowd = rng.random(len(gt)) < 0.3
    ours, d, g = _pair_ious(dt, gt, crowd)
    ref = np.asarray(mask_utils.iou(dt, gt, crowd.astype(np.uint8).tolist()))
    np.testing.assert_array_equal(ours, ref)  # the same integers: the same floats
    assert d.canonical.all() and g.canonical.all()  # pycocotools' encoder writes canonical RLE
    np.testing.assert_array_equal(d.mask_area, mask_utils.area(dt))


def test_masks_that_are_not_canonical_take_the_merge():
    """RLEs with an empty run inside (valid, but not what pycocotools' encoder writes) are read
    by the line-by-line merge, with its quirk: it stops where both masks reach an empty run at
    once. Here A = pixels {1, 2} and B = {1, 2, 3} of a 4 x 1 image: rleIou stops after pixel
    1 and gives 1/1, not the 2/3 a walk over the intervals would."""
    a = {'size': [4, 1], 'counts': [1, 1, 0, 1, 1]}
    b = {'size': [4, 1], 'counts': [1, 1, 0, 2]}
    a, b = (mask_utils.frPyObjects(r, 4, 1) for r in (a, b))
    ours, d, g = _pair_ious([a], [b], [False])
    assert not d.canonical[0] and not g.canonical[0]
    ref = np.asarray(mask_utils.iou([a], [b], [0]))
    assert ref[0, 0] == 1.0
    np.testing.assert_array_equal(ours, ref)


def test_masks_whose_runs_do_not_cover_the_image_are_named():
    """rleIou loops forever on a mask whose counts stop short of h * w: refused on loading."""
    good = mask_utils.encode(np.asfortranarray(np.ones((4, 3), np.uint8)))
    short = mask_utils.frPyObjects({'size': [4, 3], 'counts': [2, 5]}, 4, 3)
    with pytest.raises(
            ValueError,
            match=r'annotation 1 \(id 2, image 1\): its RLE counts sum '
            r'to 7, not h \* w = 12 of its size \[4, 3\] \(1 such masks\)'):
        _columns([good, short])


def test_counting_sort_is_a_stable_argsort():
    keys = np.random.default_rng(0).integers(0, 50, 3000)
    order, ptr = grp.counting_sort(keys, 60)
    np.testing.assert_array_equal(order, np.argsort(keys, kind='stable'))
    np.testing.assert_array_equal(ptr, np.searchsorted(keys[order], np.arange(61)))


@pytest.mark.parametrize('seg_len', [1, 5, grp.INSERTION_MAX, grp.INSERTION_MAX + 1, 300])
def test_segment_argsort_is_numpys_stable_sort_per_segment(seg_len):
    """Ties (scores repeat), NaN (last, as numpy) and infinities, both sort paths."""
    rng = np.random.default_rng(seg_len)
    values = rng.choice([0.1, 0.5, 0.5, 0.9, np.nan, -np.inf, np.inf], 4 * seg_len + 3)
    values[::7] = rng.random(len(values[::7]))
    items = rng.permutation(len(values)).astype(np.int64)
    ptr = np.array([0, seg_len, 2 * seg_len, 2 * seg_len + 3, len(values)], np.int64)
    ours = grp.segment_argsort(values, items, ptr)
    for lo, hi in zip(ptr[:-1], ptr[1:]):
        seg = items[lo:hi]
        np.testing.assert_array_equal(ours[lo:hi], seg[np.argsort(values[seg], kind='stable')])


def test_attribute_lists_sort_deduplicate_and_count_unknown_ids():
    known = np.array([115, 7, 300, 7, 42], np.int64)  # 7 listed twice: its first position
    order = np.argsort(known, kind='stable')
    lists = [[300, 7, 7, 115], [], [999, 42, 7], [42]]
    ids = np.array([a for x in lists for a in x], np.int64)
    off = np.concatenate([[0], np.cumsum([len(x) for x in lists])]).astype(np.int64)
    idx = np.array([2, 0, 3, 1], np.int64)  # taken out of order
    check = np.array([True, False, True, True])
    values, out_off, unknown = grp.attribute_lists(ids, off, idx, known[order], order, check)
    got = [values[a:b].tolist() for a, b in zip(out_off[:-1], out_off[1:])]
    unknown_value = -1 - 4  # the source position of 999
    assert got == [[unknown_value, 1, 4], [0, 1, 2], [4], []]
    assert unknown.tolist() == [1, 0, 0, 0]


def test_an_unknown_attribute_id_is_named():
    from pycocotools.coco import COCO

    from fashionpedia_plugin import taxonomy
    from fashionpedia_plugin.evaluation.functional import FashionpediaEval
    from fashionpedia_plugin.evaluation.functional.fp_columns import load_results
    from fashionpedia_plugin.toolkit.eval_cases import make_case
    gt, results = make_case(3, num_images=3)
    bad = [
        i for i, r in enumerate(results) if r['category_id'] in taxonomy.CATEGORIES_WITH_ATTRIBUTES
    ][:2]
    assert len(bad) == 2
    for i in bad:
        results[i]['attribute_ids'] = [12345] + list(results[i]['attribute_ids'])
    coco = COCO()
    coco.dataset = gt
    coco.createIndex()
    ev = FashionpediaEval(coco, load_results(coco, results, 'bbox'), 'bbox')
    with pytest.raises(
            ValueError,
            match=r'detection annotation id \d+ \(image \d+\) has '
            r'attribute id 12345, absent from the ground-truth attribute list '
            rf'\({len(bad)} such attribute ids\)'):
        ev.evaluate()
