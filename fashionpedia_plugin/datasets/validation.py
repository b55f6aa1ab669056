"""Checks of a Fashionpedia annotation file, shared by the dataset (fail fast) and the data doctor.

Errors make training meaningless (unknown ids, duplicates, dangling references) and stop the
dataset at load time, before any training step. Skippable problems (degenerate boxes or masks) are
counted by reason and reported once; nothing is dropped silently.
"""
import json
import os
import os.path as osp
from collections import Counter, defaultdict, namedtuple

from .. import taxonomy


class FashionpediaDataError(ValueError):
    """Bad annotation or image input; the message names the file and the offending id."""


def load_json(path, what='annotation file'):
    """Read a JSON file with errors that name the file (and the line for bad JSON)."""
    if not osp.isfile(path):
        raise FashionpediaDataError(f'{path}: {what} not found')
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise FashionpediaDataError(
            f'{path}: malformed JSON at line {e.lineno} column {e.colno}: {e.msg}') from None
    except UnicodeDecodeError as e:
        raise FashionpediaDataError(f'{path}: not a UTF-8 JSON file ({e})') from None


def load_annotation_json(ann_file):
    """:func:`load_json` plus the top-level shape of an annotation file."""
    return check_top_level(load_json(ann_file), ann_file)


def check_top_level(data, ann_file):
    """``data`` if it has the top-level shape of an annotation file, else a named error."""
    if not isinstance(data, dict):
        raise FashionpediaDataError(
            f'{ann_file}: expected a JSON object with images/annotations/categories, '
            f'got {type(data).__name__}')
    missing = [k for k in ('images', 'annotations', 'categories') if k not in data]
    if missing:
        raise FashionpediaDataError(f'{ann_file}: missing top-level key(s) {missing}')
    return data


def nested_image_folder(img_dir, file_name, candidates=None):
    """The sub-folder of ``img_dir`` that holds ``file_name`` one level deeper, or None.

    The official zips unpack to ``train/`` and ``test/``, so unzipping into a folder of that
    name gives ``train/train/...``. ``candidates`` default: every sub-folder of ``img_dir``.
    """
    if candidates is None:
        candidates = sorted(d for d in os.listdir(img_dir)
                            if osp.isdir(osp.join(img_dir, d))) if osp.isdir(img_dir) else []
    for sub in candidates:
        if osp.isfile(osp.join(img_dir, sub, file_name)):
            return sub
    return None


def degenerate_reason(ann, img_w, img_h):
    """Why mmdet would drop this annotation, or None. Same rules as ``CocoDataset``."""
    bbox = ann.get('bbox')
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4:
        return 'bbox not [x, y, w, h]'
    x1, y1, w, h = bbox
    inter_w = max(0, min(x1 + w, img_w) - max(x1, 0))
    inter_h = max(0, min(y1 + h, img_h) - max(y1, 0))
    if inter_w * inter_h == 0:
        return 'bbox outside the image'
    if ann.get('area', 1) <= 0 or w < 1 or h < 1:
        return 'zero area or box under 1 px'
    seg = ann.get('segmentation')
    if isinstance(seg, list):
        polys = [p for p in seg if len(p) >= 6 and len(p) % 2 == 0]
        if not polys:
            return 'empty mask (no polygon with >= 3 points)'
    elif isinstance(seg, dict):
        if 'counts' not in seg or 'size' not in seg:
            return 'RLE without counts/size'
    elif seg is not None:
        return 'segmentation neither polygon list nor RLE'
    else:
        return 'no segmentation'
    return None


Finding = namedtuple('Finding', 'severity kind message')
Finding.__doc__ = """One problem of an annotation or image file: ``severity`` is ``'error'``
(training would be meaningless: the dataset refuses the file) or ``'warning'``; ``kind`` is a short
category (``'unknown category'``); ``message`` names the file and the id."""


class AnnotationReport:
    """What :func:`check_annotations` found: findings, and the annotations that will be skipped.

    ``skip_reasons`` maps annotation id -> reason for every annotation the dataset will skip
    (the dataset reads it instead of re-checking); ``skipped`` counts them by reason.
    """

    def __init__(self):
        self.findings = []
        self.skip_reasons = {}

    def error(self, kind, msg):
        self.findings.append(Finding('error', kind, msg))

    def warning(self, kind, msg):
        self.findings.append(Finding('warning', kind, msg))

    def skip(self, ann_id, reason):
        self.skip_reasons[ann_id] = reason

    @property
    def errors(self):
        return [f for f in self.findings if f.severity == 'error']

    @property
    def warnings(self):
        return [f for f in self.findings if f.severity == 'warning']

    @property
    def skipped(self):
        return Counter(self.skip_reasons.values())

    def summary(self, ann_file, limit=10):
        errors = self.errors
        lines = [f'{ann_file}: {len(errors)} error(s)']
        lines += [f'  - {f.message}' for f in errors[:limit]]
        if len(errors) > limit:
            lines.append(f'  ... and {len(errors) - limit} more (run '
                         f'tools/analysis_tools/data_doctor.py for the full list)')
        return '\n'.join(lines)


def check_annotations(data, ann_file='<annotations>'):
    """Check ids and geometry of a loaded annotation dict against the official taxonomy."""
    rep = AnnotationReport()
    file_cats = {}
    for c in data['categories']:
        file_cats[c.get('id')] = c.get('name')
        if c.get('id') not in range(taxonomy.NUM_CLASSES):
            rep.error(
                'unknown category', f'{ann_file}: category id {c.get("id")} '
                f'({c.get("name")!r}) is not in the official 46-category taxonomy')
        elif c.get('name') != taxonomy.CLASSES[c['id']]:
            rep.warning(
                'category name', f'{ann_file}: category id {c["id"]} is named {c.get("name")!r}, '
                f'official name is {taxonomy.CLASSES[c["id"]]!r}')
    images = {}
    for img in data['images']:
        iid = img.get('id')
        if iid in images:
            rep.error(
                'duplicate image id', f'{ann_file}: duplicate image id {iid} '
                f'({images[iid].get("file_name")} and {img.get("file_name")})')
        for key in ('file_name', 'width', 'height'):
            if key not in img:
                rep.error('malformed image', f'{ann_file}: image id {iid} has no {key!r}')
        images[iid] = img
    ann_ids = set()
    for ann in data['annotations']:
        aid = ann.get('id')
        where = f'{ann_file}: annotation id {aid} (image {ann.get("image_id")})'
        if aid in ann_ids:
            rep.error('duplicate annotation id', f'{ann_file}: duplicate annotation id {aid}')
        ann_ids.add(aid)
        img = images.get(ann.get('image_id'))
        if img is None:
            rep.error('unknown image id', f'{where}: image_id not in images')
        cid = ann.get('category_id')
        if cid not in file_cats or cid not in range(taxonomy.NUM_CLASSES):
            rep.error('unknown category', f'{where}: unknown category_id {cid}')
        attrs = ann.get('attribute_ids', [])
        if not isinstance(attrs, list):
            rep.error('malformed attributes', f'{where}: attribute_ids is not a list')
            attrs = []
        unknown = [a for a in attrs if a not in taxonomy.ATTR_ID_TO_INDEX]
        if unknown:
            rep.error(
                'unknown attribute', f'{where}: attribute id(s) {unknown} not in the '
                f'official 294-attribute taxonomy')
        if attrs and cid in range(taxonomy.NUM_CLASSES) and \
                cid not in taxonomy.CATEGORIES_WITH_ATTRIBUTES:
            rep.warning(
                'attributes on a category without attributes', f'{where}: category {cid} '
                f'({taxonomy.CLASSES[cid]}) never carries attributes but lists {attrs}')
        if ann.get('ignore', False):
            rep.skip(aid, 'marked ignore')
        elif img is not None and 'width' in img and 'height' in img:
            reason = degenerate_reason(ann, img['width'], img['height'])
            if reason is not None:
                rep.skip(aid, reason)
    return rep


def annotation_statistics(data):
    """Counts per class: instances, instances with attributes, attributes; instances per image."""
    inst = Counter(a.get('category_id') for a in data['annotations'])
    with_attr = Counter(a.get('category_id') for a in data['annotations'] if a.get('attribute_ids'))
    n_attr = Counter()
    per_image = defaultdict(int)
    for a in data['annotations']:
        n_attr[a.get('category_id')] += len(a.get('attribute_ids') or [])
        per_image[a.get('image_id')] += 1
    counts = [per_image.get(img['id'], 0) for img in data['images']]
    return dict(
        instances=inst,
        instances_with_attributes=with_attr,
        attributes=n_attr,
        instances_per_image=counts)
