"""The mask IoU kernel against pycocotools ``maskUtils.iou`` (``maskApi.c rleIou``) pair by pair.

The evaluator's parity tests compare whole evaluations; these pin the shortcuts of
``fp_kernels.pair_ious`` one by one: the column window and the union from the two areas
(canonical masks), the line-by-line merge kept for masks that are not canonical, crowds,
masks of another size, empty masks and runs that wrap from one column to the next.
"""
import numpy as np
import pycocotools.mask as mask_utils
import pytest

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
    ious = kern.pair_ious(grp_dt, grp_gt, pair_off, np.zeros(1, np.int64), True, *shapes[0],
                          *shapes[1], np.asarray(crowd, bool))
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
