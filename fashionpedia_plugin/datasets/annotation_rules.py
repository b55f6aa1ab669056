"""The rules one annotation record must satisfy for the loader to read it.

Each rule returns ``None`` or ``(kind, detail)``. :func:`~.validation.check_annotations` runs them
for the dataset (at initialisation, before training) and for the data doctor alike, so what the
doctor passes the loader reads, and every malformed value becomes a named finding instead of a
traceback at a random point of a run. Two outcomes:

- *errors* (``malformed ...``, ``RLE ...``): the file is damaged (a lost coordinate, an RLE of
  another image); the dataset refuses the file.
- *skips* (:func:`degenerate_reason`): geometry mmdet would drop anyway (empty box, box outside
  the image, no polygon of 3 points); skipped, counted by reason and reported.
"""
import math
import numbers

import pycocotools.mask as mask_utils

from .. import taxonomy


def is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def is_number(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def image_rule(img):
    """``(kind, detail)`` if an image record is unusable."""
    if not isinstance(img, dict):
        return 'malformed image', f'an image entry is a {type(img).__name__}, not an object'
    if not is_int(img.get('id')):
        return 'malformed image', f'image id {img.get("id")!r} is not an integer'
    if not isinstance(img.get('file_name'), str) or not img['file_name']:
        return 'malformed image', f'image id {img["id"]}: file_name {img.get("file_name")!r}'
    for key in ('width', 'height'):
        if not is_int(img.get(key)) or img[key] <= 0:
            return 'malformed image', f'image id {img["id"]}: {key} {img.get(key)!r} is not a ' \
                'positive integer'
    return None


def annotation_fields_rule(ann):
    """Types of the fields every annotation needs (geometry is :func:`segmentation_rule`)."""
    bbox = ann.get('bbox')
    if not isinstance(bbox, list) or len(bbox) != 4 or not all(is_number(v) for v in bbox):
        return 'malformed bbox', f'bbox {bbox!r} is not [x, y, w, h] of 4 finite numbers'
    if 'area' in ann and not is_number(ann['area']):
        return 'malformed annotation', f'area {ann["area"]!r} is not a finite number'
    if ann.get('iscrowd', 0) not in (0, 1):
        return 'malformed annotation', f'iscrowd {ann.get("iscrowd")!r} is not 0 or 1'
    attrs = ann.get('attribute_ids', [])
    if not isinstance(attrs, list) or not all(is_int(a) for a in attrs):
        return 'malformed attributes', f'attribute_ids {attrs!r} is not a list of integers'
    return None


def rle_string_counts(s):
    """Run lengths of a compressed COCO RLE string (a port of pycocotools' ``rleFrString``)."""
    counts, p, m = [], 0, 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            if p >= len(s):
                raise ValueError('string ends inside a run length')
            c = ord(s[p]) - 48
            if not 0 <= c < 64:
                raise ValueError(f'character {s[p]!r} at {p} is not an RLE character')
            x |= (c & 0x1f) << 5 * k
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << 5 * k
        if m > 2:
            x += counts[m - 2]
        counts.append(x)
        m += 1
    return counts


def segmentation_rule(seg, img_h, img_w, full=False):
    """``(kind, detail)`` if ``seg`` is malformed or does not belong to an ``img_h x img_w``
    image. ``full=True`` also decodes compressed RLE with pycocotools (the doctor's --full)."""
    if isinstance(seg, list):
        for i, poly in enumerate(seg):
            if not isinstance(poly, list) or not all(is_number(v) for v in poly):
                return 'malformed polygon', f'polygon {i} is not a list of finite numbers'
            if len(poly) % 2:
                return 'malformed polygon', f'polygon {i} has an odd number of coordinates ' \
                    f'({len(poly)}): a coordinate is missing'
        return None
    if not isinstance(seg, dict):
        return None if seg is None else ('malformed segmentation',
                                         f'segmentation is a {type(seg).__name__}, neither a '
                                         'polygon list nor an RLE object')
    size, counts = seg.get('size'), seg.get('counts')
    if not isinstance(size, list) or len(size) != 2 or not all(is_int(v) for v in size):
        return 'malformed RLE', f'RLE size {size!r} is not [height, width]'
    if list(size) != [img_h, img_w]:
        return 'RLE size mismatch', f'RLE size {size} but the image is {img_h}x{img_w} ' \
            '(height x width)'
    if isinstance(counts, str):
        try:
            runs = rle_string_counts(counts)
        except ValueError as e:
            return 'malformed RLE', f'RLE counts string: {e}'
    elif isinstance(counts, list) and all(is_int(c) for c in counts):
        runs = counts
    else:
        return 'malformed RLE', 'RLE counts is neither a string nor a list of integers'
    if any(r < 0 for r in runs) or sum(runs) != img_h * img_w:
        return 'malformed RLE', f'RLE runs cover {sum(runs)} pixels, the image has ' \
            f'{img_h * img_w} (truncated or of another image)'
    if full and isinstance(counts, str):
        try:
            if mask_utils.decode(dict(size=size, counts=counts.encode())).shape != (img_h, img_w):
                return 'malformed RLE', 'RLE decodes to another size'
        except Exception as e:  # pycocotools raises plain Exception/ValueError
            return 'malformed RLE', f'RLE does not decode ({e})'
    return None


def degenerate_reason(ann, img_w, img_h):
    """Why mmdet would drop this (well-formed) annotation, or None. Rules of ``CocoDataset``
    and ``LoadAnnotations``."""
    x1, y1, w, h = ann['bbox']
    inter_w = max(0, min(x1 + w, img_w) - max(x1, 0))
    inter_h = max(0, min(y1 + h, img_h) - max(y1, 0))
    if inter_w * inter_h == 0:
        return 'bbox outside the image'
    if ann.get('area', 1) <= 0 or w < 1 or h < 1:
        return 'zero area or box under 1 px'
    seg = ann.get('segmentation')
    if seg is None:
        return 'no segmentation'
    if isinstance(seg, list) and not any(len(p) >= 6 for p in seg):
        return 'empty mask (no polygon with >= 3 points)'
    return None


def category_ok(cid, file_cats):
    return is_int(cid) and cid in file_cats and 0 <= cid < taxonomy.NUM_CLASSES
