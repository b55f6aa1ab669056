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
from . import annotation_rules as rules


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
        hint = ('; a pickle of mmdet\'s raw results is not read (nothing is unpickled): write '
                'the JSON with tools/test.py --out x.json') if what == 'results file' and \
            path.endswith(('.pkl', '.pickle')) else ''
        raise FashionpediaDataError(f'{path}: not a UTF-8 JSON file ({e}){hint}') from None


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


Finding = namedtuple('Finding', 'severity kind message')
Finding.__doc__ = """One problem of an annotation or image file: ``severity`` is ``'error'``
(training would be meaningless: the dataset refuses the file) or ``'warning'``; ``kind`` is a short
category (``'unknown category'``); ``message`` names the file and the id."""


class AnnotationReport:
    """What :func:`check_annotations` found: findings, and the annotations that will be skipped.

    ``skip_reasons`` maps annotation id -> reason for every annotation the dataset will skip
    (the dataset reads it instead of re-checking); ``skipped`` counts them by reason.
    ``invalid`` counts the annotation entries with an error, by the kind of their first error
    (neither usable nor skipped: the dataset refuses a file with errors); every entry of the
    file is exactly one of usable, skipped or invalid.
    """

    def __init__(self):
        self.findings = []
        self.skip_reasons = {}
        self.num_annotations = 0  # distinct annotation ids
        self.num_entries = 0  # entries of the annotations list
        self.invalid = Counter()
        self.num_errors = 0

    @property
    def usable(self):
        """Annotations the dataset loads as instances (crowd ones included, as ignored): the
        entries without an error that are not skipped."""
        return self.num_entries - sum(self.invalid.values()) - len(self.skip_reasons)

    def error(self, kind, msg):
        self.findings.append(Finding('error', kind, msg))
        self.num_errors += 1

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


def check_annotations(data, ann_file='<annotations>', full=False):
    """Run :mod:`.annotation_rules` over a loaded annotation dict: ids against the official
    taxonomy, types and shapes, geometry against its image. Never raises on malformed input:
    everything becomes a :class:`Finding` or a skip. ``full`` also decodes compressed RLE."""
    rep = AnnotationReport()
    for key in ('categories', 'images', 'annotations'):
        if not isinstance(data.get(key), list):
            rep.error('malformed file', f'{ann_file}: {key!r} is {type(data.get(key)).__name__}, '
                      'not a list')
    if rep.errors:
        return rep
    file_cats = _check_categories(data['categories'], ann_file, rep)
    images = _check_images(data['images'], ann_file, rep)
    ann_ids = set()
    for ann in data['annotations']:
        first = len(rep.findings)
        before = rep.num_errors
        _check_annotation(ann, ann_file, rep, images, file_cats, ann_ids, full)
        if rep.num_errors > before:
            rep.invalid[next(f.kind for f in rep.findings[first:] if f.severity == 'error')] += 1
    rep.num_entries = len(data['annotations'])
    rep.num_annotations = len(ann_ids)
    return rep


def _check_annotation(ann, ann_file, rep, images, file_cats, ann_ids, full):
    """The rules of one annotation entry: errors, warnings, and its skip reason (only for an
    entry without an error: one with an error is invalid, not skipped)."""
    before = rep.num_errors
    if not isinstance(ann, dict):
        rep.error('malformed annotation', f'{ann_file}: an annotation is a '
                  f'{type(ann).__name__}, not an object')
        return
    aid = ann.get('id')
    where = f'{ann_file}: annotation id {aid!r} (image {ann.get("image_id")!r})'
    if not rules.is_int(aid):
        rep.error('malformed annotation', f'{where}: id is not an integer')
        return
    if aid in ann_ids:
        rep.error('duplicate annotation id', f'{ann_file}: duplicate annotation id {aid}')
    ann_ids.add(aid)
    img = images.get(ann.get('image_id')) if rules.is_int(ann.get('image_id')) else None
    if img is None:
        rep.error('unknown image id', f'{where}: image_id not in images')
    cid = ann.get('category_id')
    if not rules.category_ok(cid, file_cats):
        rep.error('unknown category', f'{where}: unknown category_id {cid!r}')
    problem = rules.annotation_fields_rule(ann)
    if problem is None and img is not None:
        problem = rules.segmentation_rule(
            ann.get('segmentation'), img['height'], img['width'], full)
    if problem is not None:
        rep.error(problem[0], f'{where}: {problem[1]}')
        return
    attrs = ann.get('attribute_ids', [])
    unknown = [a for a in attrs if a not in taxonomy.ATTR_ID_TO_INDEX]
    if unknown:
        rep.error(
            'unknown attribute', f'{where}: attribute id(s) {unknown} not in the '
            f'official 294-attribute taxonomy')
    elif attrs and rules.category_ok(cid, file_cats) and \
            cid not in taxonomy.CATEGORIES_WITH_ATTRIBUTES:
        rep.warning(
            'attributes on a category without attributes', f'{where}: category {cid} '
            f'({taxonomy.CLASSES[cid]}) never carries attributes but lists {attrs}')
    if rep.num_errors > before:
        return
    if ann.get('ignore', False):
        rep.skip(aid, 'marked ignore')
    elif img is not None:
        reason = rules.degenerate_reason(ann, img['width'], img['height'])
        if reason is not None:
            rep.skip(aid, reason)


def _check_categories(categories, ann_file, rep):
    file_cats = {}
    for c in categories:
        cid = c.get('id') if isinstance(c, dict) else None
        name = c.get('name') if isinstance(c, dict) else None
        if not rules.is_int(cid) or not 0 <= cid < taxonomy.NUM_CLASSES:
            rep.error(
                'unknown category', f'{ann_file}: category id {cid!r} ({name!r}) is not in the '
                'official 46-category taxonomy')
            continue
        file_cats[cid] = name
        if name != taxonomy.CLASSES[cid]:
            rep.warning(
                'category name', f'{ann_file}: category id {cid} is named {name!r}, '
                f'official name is {taxonomy.CLASSES[cid]!r}')
    return file_cats


def _check_images(images_list, ann_file, rep):
    images = {}
    for img in images_list:
        problem = rules.image_rule(img)
        if problem is not None:
            rep.error(problem[0], f'{ann_file}: {problem[1]}')
            continue
        iid = img['id']
        if iid in images:
            rep.error(
                'duplicate image id', f'{ann_file}: duplicate image id {iid} '
                f'({images[iid]["file_name"]} and {img["file_name"]})')
        images[iid] = img
    return images


def annotation_statistics(data):
    """Counts per class: instances, instances with attributes, attributes; instances per image.
    Malformed entries (not objects, lists of the wrong type) are left out."""

    def records(key):
        value = data.get(key)
        return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []

    anns = records('annotations')
    inst = Counter(a.get('category_id') for a in anns)
    n_attr, with_attr = Counter(), Counter()
    per_image = defaultdict(int)
    for a in anns:
        attrs = a.get('attribute_ids')
        n = len(attrs) if isinstance(attrs, list) else 0
        n_attr[a.get('category_id')] += n
        with_attr[a.get('category_id')] += n > 0
        per_image[a.get('image_id')] += 1
    counts = [per_image.get(img.get('id'), 0) for img in records('images')]
    return dict(
        instances=inst,
        instances_with_attributes=with_attr,
        attributes=n_attr,
        instances_per_image=counts)
