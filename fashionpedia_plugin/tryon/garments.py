"""Garments grouped with their parts: what a try-on model means by "the shirt".

Fashionpedia predicts a garment (0-12: shirt .. cape) and its parts (27-45: sleeves, neckline,
pockets, ...) as separate instances. A try-on model needs the whole garment: its region (a
predicted garment mask may miss the cuffs that the sleeve instances cover), its category
(upper body, lower body, dress) and what it looks like (sleeve length is an attribute of the
*sleeve* instances, neckline type of the *neckline*). The annotations outline a garment with its
parts inside (a sleeve lies on its shirt), so containment tells which garment a part belongs
to. :func:`group_garments` joins them:

- each part is attached to the garment whose mask holds the largest fraction of the part's mask
  area (``|part & garment| / |part|``), if that fraction is at least ``min_overlap`` (default
  :data:`DEFAULT_MIN_OVERLAP` = 0.5, our choice: most of the part lies on the garment; a sleeve
  drawn over a jacket and a shirt goes to the one that covers more of it);
- parts below the threshold stay *unattached*: reported and counted, never dropped;
- accessories (13-26: glasses .. umbrella) stand alone;
- each garment gets a merged mask (garment | its parts), the box of that mask, its try-on
  category from the label file (``tryon_labels.json``, ``categories``) and the attributes of
  the garment and its parts, each with the instance it came from.

Input is the per-instance records of ``<stem>.json`` (``tryon/instances.py``) and their masks,
so it works on any prediction, or on masks drawn by hand (the tests do).
"""
from dataclasses import dataclass, field

import numpy as np

from .. import taxonomy
from .labels import load_tryon_labels

DEFAULT_MIN_OVERLAP = 0.5  # our choice (see the module docstring)


def class_index(rec):
    """Taxonomy index of an instance record (by name: a checkpoint may order classes
    differently; by ``class_id`` when the name is not an official one)."""
    name = rec.get('class_name')
    return taxonomy.CLASSES.index(name) if name in taxonomy.CLASSES else int(rec['class_id'])


def _box(mask):
    """``(x1, y1, x2, y2)`` of a mask, exclusive ends; None when empty."""
    ys = np.flatnonzero(mask.any(1))
    if not len(ys):
        return None
    xs = np.flatnonzero(mask.any(0))
    return int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1


def _intersection(a, box_a, b, box_b):
    """``|a & b|``, counted inside the overlap of the two boxes only."""
    if box_a is None or box_b is None:
        return 0
    x1, y1 = max(box_a[0], box_b[0]), max(box_a[1], box_b[1])
    x2, y2 = min(box_a[2], box_b[2]), min(box_a[3], box_b[3])
    if x2 <= x1 or y2 <= y1:
        return 0
    return int(np.count_nonzero(a[y1:y2, x1:x2] & b[y1:y2, x1:x2]))


@dataclass
class GarmentGroups:
    """Result of :func:`group_garments`.

    ``garments``: JSON-able records (see :func:`group_garments`); ``masks``: their merged masks
    (bool HxW), same order; ``accessories`` and ``unattached``: records of the instances that
    stand alone; ``instance_masks``: the input masks (for painting label maps).
    """
    garments: list = field(default_factory=list)
    masks: list = field(default_factory=list)
    accessories: list = field(default_factory=list)
    unattached: list = field(default_factory=list)
    instance_masks: object = None
    min_overlap: float = DEFAULT_MIN_OVERLAP

    def to_json(self):
        return dict(
            min_overlap=self.min_overlap,
            garments=self.garments,
            accessories=self.accessories,
            unattached_parts=self.unattached,
            num_unattached_parts=len(self.unattached))

    def best(self, category):
        """Index (into ``garments``) of the highest-scoring garment of a try-on category."""
        idx = [i for i, g in enumerate(self.garments) if g['category'] == category]
        return max(idx, key=lambda i: self.garments[i]['score']) if idx else None

    def layers(self):
        """``(score, mask, class_name)`` of what a label map paints: merged garments,
        accessories and unattached parts (a part on a garment is painted as the garment)."""
        out = [(g['score'], m, g['class_name']) for g, m in zip(self.garments, self.masks)]
        out += [(r['score'], self.instance_masks[r['index']], r['class_name'])
                for r in self.accessories + self.unattached]
        return out


def _attribute_entries(rec, source_id):
    return [
        dict(
            id=a['id'],
            name=a['name'],
            supercategory=a['supercategory'],
            score=a.get('score'),
            source=source_id,
            source_class=rec['class_name']) for a in rec.get('attributes', [])
    ]


def merge_attributes(garment, parts):
    """Attributes of a garment and its parts, each with its ``source`` instance id and
    ``source_class``. One entry per (attribute, source class): two sleeves that are both
    wrist-length give one entry (the higher score; ``sources`` lists both ids), while a
    'short (length)' of the garment and one of its sleeves stay apart (tags tell the garment's
    length from the sleeve length by the source)."""
    merged = {}
    for rec in [garment] + list(parts):
        for a in _attribute_entries(rec, rec['id']):
            key = (a['id'], a['source_class'])
            old = merged.get(key)
            if old is None:
                merged[key] = dict(a, sources=[a['source']])
                continue
            old['sources'].append(a['source'])
            if (a['score'] or 0) > (old['score'] or 0):
                old.update(score=a['score'], source=a['source'])
    return list(merged.values())


def group_garments(instances, masks, min_overlap=DEFAULT_MIN_OVERLAP, labels=None):
    """Group instance records (``<stem>.json`` ``instances``) and their masks (N x H x W bool)
    into garments with their parts; returns :class:`GarmentGroups`.

    Each garment record: ``id`` (the garment's instance id), ``class_id``, ``class_name``,
    ``score``, ``category`` ('upper_body' | 'lower_body' | 'dresses' | None), ``bbox_xyxy``
    and ``mask_area`` of the merged mask, ``parts`` (``id``, ``class_id``, ``class_name``,
    ``score``, ``overlap``) and ``attributes`` (:func:`merge_attributes`). ``labels``: a
    :class:`.labels.TryonLabels` (default: the package's file).
    """
    labels = labels or load_tryon_labels()
    masks = np.zeros((0, 1, 1), bool) if masks is None else np.asarray(masks, bool)
    if len(instances) != len(masks):
        raise ValueError(f'{len(instances)} instance records but {len(masks)} masks')
    boxes = [_box(m) for m in masks]
    kinds = [class_index(r) for r in instances]
    garment_idx = [i for i, c in enumerate(kinds) if c in taxonomy.GARMENTS]
    groups = GarmentGroups(instance_masks=masks, min_overlap=min_overlap)
    attached = {g: [] for g in garment_idx}
    for i, c in enumerate(kinds):
        rec = instances[i]
        base = dict(
            index=i,
            id=rec.get('id', i),
            class_id=rec['class_id'],
            class_name=rec['class_name'],
            score=rec['score'])
        if c in taxonomy.ACCESSORIES:
            groups.accessories.append(base)
        if c not in taxonomy.PARTS:
            continue
        area = int(masks[i].sum())
        best, best_frac = None, 0.0
        for g in garment_idx:
            frac = _intersection(masks[i], boxes[i], masks[g], boxes[g]) / area if area else 0.0
            if best is None or (frac, instances[g]['score']) > (best_frac,
                                                                instances[best]['score']):
                best, best_frac = g, frac
        if best is not None and area and best_frac >= min_overlap:
            attached[best].append((i, best_frac))
        else:
            groups.unattached.append(
                dict(
                    base,
                    best_overlap=round(best_frac, 4),
                    best_garment=None if best is None else instances[best].get('id', best)))
    for g in garment_idx:
        rec = instances[g]
        merged = masks[g].copy()
        for i, _ in attached[g]:
            merged |= masks[i]
        box = _box(merged)
        parts = [instances[i] for i, _ in attached[g]]
        groups.garments.append(
            dict(
                id=rec.get('id', g),
                class_id=rec['class_id'],
                class_name=rec['class_name'],
                score=rec['score'],
                category=labels.category.get(rec['class_name']),
                bbox_xyxy=list(box) if box else None,
                mask_area=int(merged.sum()),
                parts=[
                    dict(
                        id=p.get('id', i),
                        class_id=p['class_id'],
                        class_name=p['class_name'],
                        score=p['score'],
                        overlap=round(frac, 4)) for p, (i, frac) in zip(parts, attached[g])
                ],
                attributes=merge_attributes(
                    dict(rec, id=rec.get('id', g)),
                    [dict(p, id=p.get('id', i)) for p, (i, _) in zip(parts, attached[g])])))
        groups.masks.append(merged)
    return groups
