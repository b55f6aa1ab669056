"""Garment captions in IDM-VTON's tag format, from the predicted attributes.

IDM-VTON (yisol/IDM-VTON, ``inference.py``) captions a garment from ``vitonhd_test_tagged.json``:
``{"data": [{"file_name": "NAME.jpg", "category_name", "tag_info": [{"tag_name": "item",
"tag_category": "T-shirts"}, {"tag_name": "sleeveLength", ...}, ...]}]}``, and reads
``sleeveLength``, ``neckLine`` and ``item`` ("a photo of Short Sleeve Round Neck T-shirts").
Fashionpedia predicts those as attributes, but of different instances: sleeve length is an
attribute of the *sleeves*, neckline type of the *neckline* part. So each tag key names the
attribute super-categories it takes (``taxonomy.ATTRIBUTE_SUPERCATEGORIES``) and the instances
it takes them from (the garment itself or a part class), in ``tryon_labels.json`` (``tags``):
the value is the highest-scoring such attribute of the grouped garment (:mod:`.garments`); a key
is absent when nothing was predicted. ``item`` is the class name (its first alias).

Layout: ``tags/NAME.json`` (one entry per garment of the photo) and, at the end of a run,
``vitonhd_test_tagged.json`` (the entry of each photo's cloth: its best garment of the requested
category) in IDM-VTON's ``idm-vton/test/`` when that format is written, else in ``tags/``.
"""
import glob
import json
import os.path as osp

from .formats import write_file, write_json
from .labels import first_alias, tag_value

TAGGED_FILE = 'vitonhd_test_tagged.json'  # IDM-VTON's name, in its test folder


def garment_tags(garment, labels):
    """``tag_info`` of one garment record of :func:`.garments.group_garments`."""
    info = [dict(tag_name='item', tag_category=first_alias(garment['class_name']))]
    for spec in labels.tag_keys:
        sources = set(spec['sources'])
        cands = [
            a for a in garment['attributes'] if a['supercategory'] in spec['supercategories'] and (
                'garment' in sources and a['source_class'] == garment['class_name'] or first_alias(
                    a['source_class']) in sources and a['source_class'] != garment['class_name'])
        ]
        if cands:
            best = max(cands, key=lambda a: a['score'] or 0)
            info.append(
                dict(
                    tag_name=spec['key'],
                    tag_category=tag_value(spec['key'], best['name'], labels.tag_values),
                    attribute_id=best['id'],
                    source=best['source']))
    return info


def tag_entries(stem, groups, labels, file_name=None):
    """The ``data`` entries of one photo: one per garment, keyed by the cloth's file name as
    IDM-VTON looks its captions up (``file_name`` = the exported cloth name, ``SAFE_00.jpg``)."""
    return [
        dict(
            file_name=file_name or f'{stem}.jpg',
            garment_id=g['id'],
            category_name=g['category'],
            class_name=g['class_name'],
            score=g['score'],
            tag_info=garment_tags(g, labels)) for g in groups.garments
    ]


def write_tags(out_dir, stem, groups, labels, file_name=None):
    """``tags/NAME.json`` = ``{"data": [entry per garment]}``; returns the files written."""
    return [
        write_file(out_dir, f'tags/{stem}.json',
                   write_json(dict(data=tag_entries(stem, groups, labels, file_name))))
    ]


def write_tagged_json(out_dir, category='upper_body', into='tags'):
    """``<into>/vitonhd_test_tagged.json``: of every ``tags/*.json``, the entry of the best
    garment of ``category`` (the one written as the cloth). Returns its path, relative to
    ``out_dir``, or None when there are no tag files."""
    files = sorted(
        p for p in glob.glob(osp.join(out_dir, 'tags', '*.json')) if osp.basename(p) != TAGGED_FILE)
    if not files:
        return None
    data = []
    for path in files:
        with open(path) as f:
            entries = [e for e in json.load(f)['data'] if e['category_name'] == category]
        if entries:
            data.append(max(entries, key=lambda e: e['score']))
    return write_file(out_dir, f'{into}/{TAGGED_FILE}', write_json(dict(data=data)))
