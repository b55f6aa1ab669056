"""The try-on label tables: Fashionpedia classes -> CIHP/VITON-HD and DressCode label ids,
DressCode garment categories and the IDM-VTON-style tag keys.

Why a data file (``tryon_labels.json`` beside this module): the mappings are decisions about
other projects' label sets, each with a source (CIHP_PGN ``utils/utils.py``, VITON-HD
``datasets.py``, dress-code ``data/labelmap.py``, IDM-VTON ``inference.py``; named in the file's
``sources``) and some with "our choice" notes (``decisions``). Keeping them as data lets a user
re-map (e.g. vest -> upper-clothes) without touching code. The file is checked when it is read:
every class name must be an official Fashionpedia class and every label a label of its table,
so a typo fails at once instead of painting background.
"""
import json
import os.path as osp
import re
from functools import lru_cache

from .. import taxonomy

LABELS_FILE = osp.join(osp.dirname(__file__), 'tryon_labels.json')
TRYON_CATEGORIES = ('upper_body', 'lower_body', 'dresses')  # DressCode's three folders


class TryonLabels:
    """The checked content of a ``tryon_labels.json``.

    Attributes: ``cihp_labels`` (20 names, index = id), ``cihp_palette`` (20 RGB),
    ``dresscode_labels`` (18 names), ``to_cihp`` / ``to_dresscode`` (class name -> label id;
    classes not listed are not painted), ``category`` (class name -> 'upper_body' |
    'lower_body' | 'dresses'), ``tag_keys`` (list of dicts: key, supercategories, sources),
    ``tag_values`` (key -> attribute name -> tag value), ``sources`` and ``decisions``.
    """

    def __init__(self, spec, path='<dict>'):
        self.path = path
        self.sources = spec['sources']
        self.decisions = spec.get('decisions', {})
        self.cihp_labels = list(spec['cihp']['labels'])
        self.cihp_palette = [tuple(int(v) for v in c) for c in spec['cihp']['palette']]
        self.dresscode_labels = list(spec['dresscode']['labels'])
        if len(self.cihp_palette) != len(self.cihp_labels):
            raise ValueError(f'{path}: {len(self.cihp_labels)} CIHP labels but '
                             f'{len(self.cihp_palette)} palette colours')
        self.to_cihp = self._label_map(spec['to_cihp'], self.cihp_labels, 'to_cihp')
        self.to_dresscode = self._label_map(spec['to_dresscode'], self.dresscode_labels,
                                            'to_dresscode')
        unmapped = spec.get('unmapped', {})
        for table, mapped in (('cihp', self.to_cihp), ('dresscode', self.to_dresscode)):
            for name in unmapped.get(table, []):
                self._check_class(name, f'unmapped.{table}')
            # every garment and accessory is either mapped or listed as unmapped on purpose
            missing = [
                taxonomy.CLASSES[c] for c in taxonomy.GARMENTS + taxonomy.ACCESSORIES
                if taxonomy.CLASSES[c] not in mapped
                and taxonomy.CLASSES[c] not in unmapped.get(table, [])
            ]
            if missing:
                raise ValueError(f'{path}: to_{table} has no label for {missing[0]!r}: map it '
                                 f'or list it in unmapped.{table}')
        self.category = {}
        for cat, names in spec['categories'].items():
            if cat not in TRYON_CATEGORIES:
                raise ValueError(f'{path}: unknown category {cat!r}; use {TRYON_CATEGORIES}')
            for name in names:
                self._check_class(name, f'categories.{cat}')
                self.category[name] = cat
        tags = spec.get('tags', {})
        self.tag_keys = [dict(k) for k in tags.get('keys', [])]
        supercats = set(taxonomy.ATTRIBUTE_SUPERCATEGORIES)
        for k in self.tag_keys:
            bad = [s for s in k['supercategories'] if s not in supercats]
            if bad:
                raise ValueError(f'{path}: tag {k["key"]!r}: unknown attribute super-category '
                                 f'{bad[0]!r}; e.g. {sorted(supercats)[:3]}')
            short = {first_alias(c) for c in taxonomy.CLASSES}
            bad = [s for s in k['sources'] if s != 'garment' and s not in short]
            if bad:
                raise ValueError(f'{path}: tag {k["key"]!r}: unknown source {bad[0]!r} '
                                 "('garment' or a part class such as 'sleeve')")
        self.tag_values = tags.get('values', {})

    def _check_class(self, name, where):
        if name not in taxonomy.CLASSES:
            raise ValueError(f'{self.path}: {where}: {name!r} is not a Fashionpedia class '
                             f'(exact official name, e.g. {taxonomy.CLASSES[1]!r})')

    def _label_map(self, mapping, labels, where):
        out = {}
        for name, label in mapping.items():
            self._check_class(name, where)
            if label not in labels:
                raise ValueError(f'{self.path}: {where}: {name!r} -> {label!r}, which is not '
                                 f'a label of its table ({", ".join(labels[:4])}, ...)')
            out[name] = labels.index(label)
        return out

    def palette_bytes(self):
        """The CIHP palette as the 768-value list ``PIL.Image.putpalette`` takes."""
        flat = [v for c in self.cihp_palette for v in c]
        return flat + [0] * (768 - len(flat))


@lru_cache(maxsize=8)
def load_tryon_labels(path=LABELS_FILE):
    """Read and check a label file (default: the package's ``tryon_labels.json``)."""
    with open(path) as f:
        return TryonLabels(json.load(f), path)


def first_alias(class_name):
    """First alias of an official class name: 'top, t-shirt, sweatshirt' -> 'top'."""
    return class_name.split(',')[0].strip()


def tag_value(key, attribute_name, values=None):
    """A tag value: the file's value table for ``key`` if it names the attribute, else the
    attribute name without its parentheses ('round (neck)' -> 'round neck')."""
    table = (values or {}).get(key, {})
    if attribute_name in table:
        return table[attribute_name]
    return re.sub(r'\s+', ' ', attribute_name.replace('(', ' ').replace(')', ' ')).strip()
