"""Annotations as columns: what :class:`FashionpediaEval` reads of a ground truth or of a results
list, read from the Python dicts once.

Reading 100k annotation dicts costs more than matching them (about 0.3 s at val scale on a
2-core CPU), so the evaluator never walks dicts itself:
- ``Columns.from_coco(coco, iou_type)``: the annotations of a loaded ``COCO`` (a ground truth,
  or results loaded by ``COCO.loadRes``), as they are.
- ``load_results(coco_gt, results, iou_type)``: a results list as ``coco_gt.loadRes(results)``
  would load it (ids 1..n in list order, crowd 0, the same ``area`` rule), without building a
  ``COCO`` (``loadRes`` took 3.3 s for 116k segm results at val scale, see docs/metric.md).
- ``ground_truth_columns(coco_gt, iou_type)``: ``from_coco`` kept with the ``COCO`` object, so
  the in-training validations, the attribute sweep and the bootstrap read the same ground truth
  once. It is re-read when the annotation list is replaced or changes length; a ground truth
  edited in place needs a new ``COCO`` (our choice: hashing every dict would cost what it saves).

Masks are kept as decoded RLE counts (``fp_kernels.decode_rle_strings``); polygons and
uncompressed RLE are converted by pycocotools' ``annToRLE``, as ``COCOeval._toMask`` does.
"""
import weakref
from itertools import chain
from operator import itemgetter

import numpy as np

from . import fp_kernels as kern

_GT_CACHE = weakref.WeakKeyDictionary()


def _column(anns, key, dtype, what='annotation'):
    """``anns[i][key]`` for every i as an array; a missing key is a named error."""
    try:
        return np.fromiter(map(itemgetter(key), anns), dtype, len(anns))
    except KeyError:
        bad = [i for i, a in enumerate(anns) if key not in a]
        raise ValueError(f'{what} {bad[0]} (image {anns[bad[0]].get("image_id")}) has no '
                         f'{key!r} ({len(bad)} such {what}s)') from None


def _ints(anns, key, what='annotation'):
    return _column(anns, key, np.int64, what)


def _floats(anns, key, what='annotation'):
    return _column(anns, key, np.float64, what)


def _boxes(anns, what):
    try:
        return np.fromiter(
            chain.from_iterable(map(itemgetter('bbox'), anns)), np.float64,
            4 * len(anns)).reshape(len(anns), 4)
    except KeyError:
        _column(anns, 'bbox', object, what)
        raise


class Columns:
    """``n`` annotations as arrays, in their list order.

    Attributes:
        id, image_id, category_id (np.ndarray): (n,) int64.
        score, area (np.ndarray): (n,) float64 (score 0 for a ground truth).
        crowd (np.ndarray): (n,) bool.
        box (np.ndarray | None): (n, 4) x, y, w, h (``bbox`` iou type).
        counts (np.ndarray | None): decoded RLE counts of all masks (``segm``); mask i is
            ``counts[starts[i]:ends[i]]`` of size ``hw[i]``, foreground columns ``xr[i]``, pixel
            count ``mask_area[i]`` and ``canonical[i]`` (``fp_kernels.rle_extents``).
        attr_ids, attr_off (np.ndarray): CSR of each annotation's ``attribute_ids`` as given.
    """

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def __len__(self):
        return len(self.id)

    @classmethod
    def from_annotations(cls,
                         anns,
                         iou_type,
                         to_rle,
                         score=True,
                         area=None,
                         ids=None,
                         crowd=None,
                         image_id=None,
                         box=None,
                         what='annotation'):
        """Columns of annotation dicts; ``to_rle(ann)``: the compressed RLE of a polygon or an
        uncompressed RLE. ``area``/``ids``/``crowd``/``image_id``/``box`` replace the dicts'
        own fields; ``what`` names an annotation in errors."""
        n = len(anns)
        cols = cls(
            id=_ints(anns, 'id', what) if ids is None else ids,
            image_id=_ints(anns, 'image_id', what) if image_id is None else image_id,
            category_id=_ints(anns, 'category_id', what),
            score=_floats(anns, 'score', what) if score else np.zeros(n),
            crowd=(np.fromiter(
                (a.get('iscrowd', 0) for a in anns), bool, n) if crowd is None else crowd),
            box=None,
            counts=None)
        lists = [a.get('attribute_ids', ()) for a in anns]
        lens = np.fromiter(map(len, lists), np.int64, n)
        cols.attr_ids = np.fromiter(chain.from_iterable(lists), np.int64, int(lens.sum()))
        cols.attr_off = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        if iou_type == 'bbox':
            cols.box = _boxes(anns, what) if box is None else box
        else:
            cols._set_masks(anns, to_rle, what)
        cols.area = _floats(anns, 'area', what) if area is None else area
        return cols

    def _set_masks(self, anns, to_rle, what):
        n = len(anns)
        try:  # compressed RLE with str counts: what mmdet writes and most files hold
            segs = list(map(itemgetter('segmentation'), anns))
            strings = list(map(itemgetter('counts'), segs))
            fast = all(type(c) is str for c in strings)
        except KeyError:
            _column(anns, 'segmentation', object, what)  # names a missing segmentation
            fast = False  # no 'counts': uncompressed RLE without counts is not COCO
        except TypeError:  # a polygon (a list)
            fast = False
        if fast:
            sizes = np.fromiter(chain.from_iterable(map(itemgetter('size'), segs)), np.int64, 2 * n)
        else:
            strings, sizes = [None] * n, np.zeros(2 * n, np.int64)
            for i, seg in enumerate(segs):
                if not (isinstance(seg, dict) and isinstance(seg.get('counts'), (str, bytes))):
                    seg = to_rle(anns[i])  # polygons and uncompressed RLE
                c = seg['counts']
                strings[i] = c.decode() if isinstance(c, bytes) else c
                sizes[2 * i:2 * i + 2] = seg['size']
        buf = np.frombuffer(''.join(strings).encode(), np.uint8)
        offsets = np.concatenate([[0], np.cumsum(np.fromiter(map(len, strings), np.int64,
                                                             n))]).astype(np.int64)
        self.hw = sizes.reshape(n, 2)
        self.counts, self.starts, self.ends = kern.decode_rle_strings(buf, offsets)
        xs, xe, self.mask_area, valid, self.canonical = kern.rle_extents(
            self.counts, self.starts, self.ends, self.hw)
        if not valid.all():  # pycocotools' rleIou would loop forever on some of them
            bad = np.flatnonzero(~valid)
            i = bad[0]
            cnt = self.counts[self.starts[i]:self.ends[i]].astype(np.int64)
            neg = ' with a negative run' if (cnt < 0).any() else ''
            raise ValueError(f'{what} {i} (id {self.id[i]}, image {self.image_id[i]}): its RLE '
                             f'counts sum to {int(cnt.sum())}{neg}, not h * w = '
                             f'{int(self.hw[i].prod())} of its size {self.hw[i].tolist()} '
                             f'({len(bad)} such masks)')
        self.xr = np.stack([xs, xe], 1)

    @classmethod
    def from_coco(cls, coco, iou_type):
        """All annotations of a loaded ``COCO`` (``dataset['annotations']`` order)."""
        anns = coco.dataset.get('annotations', [])
        return cls.from_annotations(
            anns, iou_type, coco.annToRLE, score=bool(anns) and 'score' in anns[0])

    def with_attribute_mask(self, keep, attribute_ids):
        """A copy whose attributes are ``attribute_ids[j]`` for every ``keep[i, j]`` (``keep``:
        (n, A) bool, e.g. ``AttributeDecoder.keep_mask``)."""
        keep = np.asarray(keep, bool)
        if keep.shape[0] != len(self):
            raise ValueError(f'{keep.shape[0]} attribute rows for {len(self)} annotations')
        out = Columns(**self.__dict__)
        rows, cols = np.nonzero(keep)
        out.attr_ids = np.asarray(attribute_ids, np.int64)[cols]
        out.attr_off = np.concatenate([[0], np.cumsum(keep.sum(1))]).astype(np.int64)
        return out

    def with_attributes(self, attribute_ids):
        """A copy whose ``attribute_ids`` are ``attribute_ids`` (a list per annotation)."""
        if len(attribute_ids) != len(self):
            raise ValueError(f'{len(attribute_ids)} attribute lists for {len(self)} annotations')
        out = Columns(**self.__dict__)
        lens = np.fromiter(map(len, attribute_ids), np.int64, len(attribute_ids))
        out.attr_ids = np.fromiter(chain.from_iterable(attribute_ids), np.int64, int(lens.sum()))
        out.attr_off = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        return out


def load_results(coco_gt, results, iou_type):
    """Columns of a results list, as ``coco_gt.loadRes(results)`` loads it (pycocotools
    ``COCO.loadRes``): ids 1..n, crowd 0; when the first result has a non-empty ``bbox``, every
    area is ``w * h`` and a result without ``segmentation`` is its box as a polygon; otherwise
    the area is the mask's pixel count and a result without ``bbox`` gets its mask's box.

    Raises:
        ValueError: a result's image is not in ``coco_gt``, or a result lacks a key (the first
        such result is named by position and image, with the number of such results).
    """
    results = list(results)
    n = len(results)
    image_id = _ints(results, 'image_id', 'result')
    known = np.isin(image_id, np.fromiter(coco_gt.imgs, np.int64, len(coco_gt.imgs)))
    if not known.all():
        bad = np.flatnonzero(~known)
        raise ValueError(f'result {bad[0]}: image_id {image_id[bad[0]]} is not in the ground '
                         f'truth ({len(bad)} such results)')
    by_box = n > 0 and 'bbox' in results[0] and results[0]['bbox'] != []

    def to_rle(r):
        if 'segmentation' not in r:  # loadRes gives a box result its box as a polygon
            x, y, w, h = r['bbox']
            r = dict(r, segmentation=[[x, y, x, y + h, x + w, y + h, x + w, y]])
        return coco_gt.annToRLE(r)

    area = boxes = None
    if by_box:
        boxes = _boxes(results, 'result')
        area = boxes[:, 2] * boxes[:, 3]
        if iou_type == 'segm' and not all('segmentation' in r for r in results):
            results = [
                r if 'segmentation' in r else dict(r, segmentation=to_rle(r)) for r in results
            ]
    elif iou_type == 'bbox':  # loadRes: the box of the mask (maskApi.c rleToBbox)
        from pycocotools import mask as mask_utils
        _column(results, 'segmentation', object, 'result')
        rles = [to_rle(r) for r in results]
        area = mask_utils.area(rles).astype(np.float64).reshape(n)
        results = [
            r if 'bbox' in r else dict(r, bbox=mask_utils.toBbox(rle).tolist())
            for r, rle in zip(results, rles)
        ]
    cols = Columns.from_annotations(
        results,
        iou_type,
        to_rle,
        area=np.zeros(n) if area is None else area,
        ids=np.arange(1, n + 1, dtype=np.int64),
        crowd=np.zeros(n, bool),
        image_id=image_id,
        box=boxes,
        what='result')
    if area is None:  # the mask's pixel count (maskApi.c rleArea: the odd runs)
        cols.area = cols.mask_area.astype(np.float64)
    return cols


def ground_truth_columns(coco_gt, iou_type):
    """``Columns.from_coco(coco_gt, iou_type)``, read once per ``COCO`` object."""
    anns = coco_gt.dataset.get('annotations', [])
    stamp = (id(anns), len(anns))
    entry = _GT_CACHE.get(coco_gt)
    if entry is None or entry[0] != stamp:
        entry = (stamp, {})
        _GT_CACHE[coco_gt] = entry
    if iou_type not in entry[1]:
        entry[1][iou_type] = Columns.from_coco(coco_gt, iou_type)
    return entry[1][iou_type]
