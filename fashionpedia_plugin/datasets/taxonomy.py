"""The official Fashionpedia taxonomy: 46 categories and 294 attributes.

Source: ``taxonomy/fashionpedia_categories_attributes.json`` vendored from the fashionpedia-api
repository (BSD-2-Clause, licence beside it). Attribute ids are sparse (0..340); models work on a
contiguous index 0..293 in ascending id order, the same order the official evaluator uses when it
builds its multi-hot vectors.
"""
import json
import os.path as osp

import numpy as np

TAXONOMY_FILE = osp.join(
    osp.dirname(__file__), 'taxonomy', 'fashionpedia_categories_attributes.json')

with open(TAXONOMY_FILE) as f:
    _TAXONOMY = json.load(f)

CATEGORIES = tuple(sorted(_TAXONOMY['categories'], key=lambda c: c['id']))
ATTRIBUTES = tuple(sorted(_TAXONOMY['attributes'], key=lambda a: a['id']))
CLASSES = tuple(c['name'] for c in CATEGORIES)
ATTRIBUTE_IDS = tuple(a['id'] for a in ATTRIBUTES)
ATTRIBUTE_NAMES = tuple(a['name'] for a in ATTRIBUTES)
ATTRIBUTE_SUPERCATEGORIES = tuple(a['supercategory'] for a in ATTRIBUTES)
NUM_CLASSES = len(CLASSES)  # 46
NUM_ATTRIBUTES = len(ATTRIBUTES)  # 294
ATTR_ID_TO_INDEX = {a: i for i, a in enumerate(ATTRIBUTE_IDS)}

# Paper / official evaluator (FPParams.catsWithAttributes): only these 18 categories carry
# attributes: 0-12 (shirt .. cape) and 28 collar, 29 lapel, 31 sleeve, 32 pocket, 33 neckline.
CATEGORIES_WITH_ATTRIBUTES = tuple(list(range(13)) + [28, 29, 31, 32, 33])
assert NUM_CLASSES == 46 and NUM_ATTRIBUTES == 294, 'vendored taxonomy is not the official one'
assert [c['id'] for c in CATEGORIES] == list(range(46))


def attribute_ids_to_indices(attribute_ids):
    """Official sparse attribute ids -> contiguous indices (raises KeyError on unknown ids)."""
    return [ATTR_ID_TO_INDEX[a] for a in attribute_ids]


def indices_to_multihot(indices_per_instance, dtype=np.float32):
    """List of N index lists -> (N, 294) multi-hot array."""
    out = np.zeros((len(indices_per_instance), NUM_ATTRIBUTES), dtype=dtype)
    for row, idx in enumerate(indices_per_instance):
        out[row, list(idx)] = 1
    return out


def multihot_to_attribute_ids(multihot):
    """(294,) 0/1 vector -> sorted official sparse ids."""
    return [ATTRIBUTE_IDS[i] for i in np.flatnonzero(np.asarray(multihot) > 0)]


def palette(n=NUM_CLASSES, seed=46):
    """Deterministic, well-separated RGB colours, one per class."""
    rng = np.random.RandomState(seed)
    return [tuple(int(v) for v in rng.randint(40, 256, size=3)) for _ in range(n)]
