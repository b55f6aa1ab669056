"""Which attributes occur with which category, learned from an annotation file.

The official model predicts attributes class-agnostically (tensorflow/tpu
``projects/fashionpedia/ops/postprocess_ops.py``: one attribute vector per RoI), so a detected
shoe may "have" a neckline. The prior, counted on the train annotations, lets the decoder drop
what the data never shows (our choice, in the spirit of KE-RCNN's class x attribute knowledge;
not part of the official recipe):

- ``attribute_counts[c][a]``: instances of category ``c`` that carry attribute ``a``;
- ``exclusive_groups``: for a category, the attributes of one super-category that never occur
  together on an instance (e.g. the lengths of a skirt), seen on at least ``min_support``
  instances: a decoder keeps at most one of them.

Saved as a small JSON (``tools/analysis_tools/build_attribute_prior.py``); the decoder also
accepts the annotation file itself and builds the prior on start.
"""
import functools
import json
import os
import os.path as osp
from collections import Counter, defaultdict

from .. import taxonomy
from .validation import FashionpediaDataError, check_top_level, load_json

FORMAT = 'fashionpedia-attribute-prior/1'


def build_attribute_prior(data, source='<annotations>', min_support=5):
    """Count attributes per category in a loaded annotation dict; returns the prior dict."""
    counts = defaultdict(Counter)
    instances = Counter()
    # (category, super-category) -> instances carrying >= 1 / >= 2 of its attributes
    carrying, several = Counter(), Counter()
    for ann in data['annotations']:
        if ann.get('iscrowd', 0):
            continue
        cid = ann.get('category_id')
        instances[cid] += 1
        attrs = [a for a in ann.get('attribute_ids') or [] if a in taxonomy.ATTR_ID_TO_INDEX]
        counts[cid].update(attrs)
        per_super = Counter(taxonomy.ATTRIBUTE_SUPERCATEGORIES[taxonomy.ATTR_ID_TO_INDEX[a]]
                            for a in attrs)
        for sup, n in per_super.items():
            carrying[cid, sup] += 1
            several[cid, sup] += n > 1
    groups = []
    for (cid, sup), n in sorted(carrying.items()):
        members = sorted(a for a in counts[cid]
                         if taxonomy.ATTRIBUTE_SUPERCATEGORIES[taxonomy.ATTR_ID_TO_INDEX[a]] == sup)
        if n >= min_support and len(members) >= 2 and several[cid, sup] == 0:
            groups.append(dict(category_id=cid, supercategory=sup, attribute_ids=members))
    return dict(
        format=FORMAT,
        source=source,
        min_support=min_support,
        num_instances={
            str(c): n
            for c, n in sorted(instances.items())
        },
        attribute_counts={
            str(c): {
                str(a): n
                for a, n in sorted(cnt.items())
            }
            for c, cnt in sorted(counts.items())
        },
        exclusive_groups=groups)


@functools.lru_cache(maxsize=8)
def _load_attribute_prior(path, mtime, min_support):
    return _read_prior(path, min_support)


def load_attribute_prior(path, min_support=5):
    """A prior JSON written by :func:`save_attribute_prior`, or an annotation file to count.
    Cached per file (the metric, the visualiser and the tools may each build a decoder); the
    returned dict is shared: do not modify it."""
    path = osp.abspath(path)
    if not osp.isfile(path):
        raise FashionpediaDataError(f'{path}: attribute prior not found')
    return _load_attribute_prior(path, os.stat(path).st_mtime_ns, min_support)


def _read_prior(path, min_support):
    data = load_json(path, 'attribute prior')
    if isinstance(data, dict) and data.get('format') == FORMAT:
        return data
    if isinstance(data, dict) and 'annotations' in data:
        return build_attribute_prior(check_top_level(data, path), path, min_support)
    raise FashionpediaDataError(f'{path}: neither an attribute prior ({FORMAT}) nor an '
                                'annotation file with "annotations"')


def save_attribute_prior(prior, path):
    with open(path, 'w') as f:
        json.dump(prior, f, indent=1)
