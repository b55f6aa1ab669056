"""The official Fashionpedia taxonomy: 46 categories and 294 attributes.

Source: ``fashionpedia_categories_attributes.json`` beside this module, vendored from the
fashionpedia-api repository (BSD-2-Clause, ``LICENSE-fashionpedia-api.txt`` beside it).
Attribute ids are sparse (0..340); models work on a contiguous index 0..293 in ascending id
order, the same order the official evaluator uses when it builds its multi-hot vectors.
"""
import json
import os.path as osp

import numpy as np

TAXONOMY_FILE = osp.join(osp.dirname(__file__), 'fashionpedia_categories_attributes.json')

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

# The three super-classes of the official evaluator (fashionpedia-api ``fp_eval.py``,
# ``FPParams``: outerwear ``o`` 0-12, accessories ``a`` 13-26, parts ``p`` 27-45), which also
# decide what the try-on export treats as a main garment (a part belongs to one).
GARMENTS = tuple(range(0, 13))  # shirt, blouse .. cape: the try-on targets
ACCESSORIES = tuple(range(13, 27))  # glasses .. umbrella: stand alone
PARTS = tuple(range(27, 46))  # hood .. tassel: belong to a garment
SUPER_CLASSES = dict(o=GARMENTS, a=ACCESSORIES, p=PARTS)

# Official evaluator (fashionpedia-api ``fp_eval.py``, ``FPParams.catsWithAttributes``): only these
# 18 categories carry attributes: the 13 garments and 28 collar, 29 lapel, 31 sleeve, 32 pocket,
# 33 neckline. Kept in the evaluator's order (its per-class tables follow it).
CATEGORIES_WITH_ATTRIBUTES_EVAL_ORDER = (10, 7, 0, 6, 5, 4, 9, 31, 33, 3, 12, 11, 1, 2, 8, 32, 29,
                                         28)
CATEGORIES_WITH_ATTRIBUTES = tuple(sorted(CATEGORIES_WITH_ATTRIBUTES_EVAL_ORDER))
assert NUM_CLASSES == 46 and NUM_ATTRIBUTES == 294, 'vendored taxonomy is not the official one'
assert [c['id'] for c in CATEGORIES] == list(range(46))
assert sum(map(len, SUPER_CLASSES.values())) == NUM_CLASSES


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
