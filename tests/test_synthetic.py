"""The synthetic data follow the real annotation convention: a garment's mask holds its parts."""
import json
import os.path as osp

import numpy as np
import pycocotools.mask as mask_utils
import pytest
from conftest import SAMPLE_ANN

from fashionpedia_plugin import taxonomy


def _mask(ann, h, w):
    seg = ann['segmentation']
    if isinstance(seg, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(seg, h, w))
    elif isinstance(seg['counts'], list):
        rle = mask_utils.frPyObjects(seg, h, w)
    else:
        rle = seg
    return mask_utils.decode(rle).astype(bool)


def part_fractions(ann_file):
    """``{part class name: [fraction of the part inside the garment holding most of it]}``."""
    data = json.load(open(ann_file))
    images = {i['id']: i for i in data['images']}
    names = {c['id']: c['name'] for c in data['categories']}
    garments = {taxonomy.CATEGORIES[i]['id'] for i in taxonomy.GARMENTS}
    parts = {taxonomy.CATEGORIES[i]['id'] for i in taxonomy.PARTS}
    per_image = {}
    for a in data['annotations']:
        per_image.setdefault(a['image_id'], []).append(a)
    out = {}
    for image_id, anns in per_image.items():
        h, w = images[image_id]['height'], images[image_id]['width']
        masks = [_mask(a, h, w) for a in anns]
        held = [m for a, m in zip(anns, masks) if a['category_id'] in garments]
        for a, m in zip(anns, masks):
            if a['category_id'] in parts and m.sum() and held:
                frac = max(float((m & g).sum()) / m.sum() for g in held)
                out.setdefault(names[a['category_id']], []).append(frac)
    return out


def test_parts_lie_inside_their_garment_as_in_the_real_annotations(tmp_path):
    if not osp.isfile(SAMPLE_ANN):
        pytest.skip('shared real sample not found')
    real = part_fractions(SAMPLE_ANN)
    assert {'sleeve', 'neckline'} <= set(real)
    assert all(np.mean(v) > 0.99 for v in real.values()), real  # sleeves, neckline, collar: 1.0
    from fashionpedia_plugin.toolkit import synthetic
    files = synthetic.generate(str(tmp_path), num_train=30, num_val=0, size=320, seed=3)
    ours = part_fractions(files['train'])
    assert {'sleeve', 'neckline', 'pocket'} <= set(ours)
    for name, fracs in ours.items():
        # every part on its garment, as in the real data (before: sleeves ~0.1 inside)
        assert np.mean(fracs) >= np.mean(real.get(name, [1.0])) - 0.02, (name, np.mean(fracs))
        assert min(fracs) > 0.9, (name, min(fracs))
