"""``AttributeDecoder``: the one place where attribute scores become official attribute ids."""
import os.path as osp

import numpy as np
from mmdet.registry import TASK_UTILS

from ... import taxonomy
from ...datasets.attribute_prior import load_attribute_prior
from ...datasets.validation import FashionpediaDataError, load_json

# The dataset's author: "it's 0.05 in the paper" (fashionpedia-api issue #16). The official
# TF code applies no threshold (projects/fashionpedia/ops/postprocess_ops.py returns the sigmoid
# probabilities). The measured effect on the demo: docs/attributes.md, "Target x decoding x
# prior, measured".
DEFAULT_SCORE_THR = 0.05


@TASK_UTILS.register_module()
class AttributeDecoder:
    """Turn ``attr_scores`` (N, 294) into per-detection lists of official attribute ids.

    Used by ``FashionpediaMetric`` (hence ``tools/test.py --out``), the inference API and
    ``tools/infer.py`` alike, configured once: ``test_evaluator.attr_decoder`` (the tuning tool
    writes a JSON that ``tools/test.py --attr-decoder`` and ``tools/infer.py --attr-decoder``
    take).

    Args:
        score_thr (float | dict | str): an attribute is predicted when its score >= its
            threshold. A float for all; or ``dict(default=0.05, supercategory={'length': 0.2},
            attribute={'115': 0.3})`` (most specific wins); or the path of a JSON holding either.
        prior (str | dict | None): a prior JSON or an annotation file (``datasets/
            attribute_prior.py``), or the loaded dict. Needed by ``class_mask`` and
            ``exclusive``.
        class_mask (bool): drop attributes never seen with the detected category; categories
            that never carry attributes predict none.
        exclusive (bool): in each exclusive group of the prior (attributes of one super-category
            that never occur together on that category), keep only the highest-scoring one.
        calibration (dict | None): where the settings were tuned (written by the tuning tool;
            kept for the record, not used).
    """

    def __init__(self,
                 score_thr=DEFAULT_SCORE_THR,
                 prior=None,
                 class_mask=True,
                 exclusive=False,
                 calibration=None):
        self.calibration = calibration
        if isinstance(score_thr, str):
            score_thr = load_json(score_thr, 'attribute thresholds')
            if isinstance(score_thr, dict) and 'score_thr' in score_thr:
                score_thr = score_thr['score_thr']  # a whole decoder config from the tuner
        self.score_thr = score_thr
        self.thresholds = thresholds_vector(score_thr)
        self.prior_source = prior if isinstance(prior, str) else None
        if isinstance(prior, str) and not osp.isfile(prior):
            raise FashionpediaDataError(
                f'{osp.abspath(prior)}: attribute prior not found. The AttributeDecoder keeps each '
                'class\'s attributes to those seen with it in the train annotations: give that '
                'file or a prior JSON of tools/analysis_tools/build_attribute_prior.py (test.py, '
                'train.py: --train-ann FILE or --data-root DIR; any tool: --cfg-options '
                'test_evaluator.attr_decoder.prior=FILE visualizer.attr_decoder.prior=FILE), or '
                'decode without it (the same keys =None; docs/attributes.md measures what the '
                'prior adds)')
        self.prior = load_attribute_prior(prior) if isinstance(prior, str) else prior
        if (class_mask or exclusive) and self.prior is None:
            class_mask = exclusive = False  # nothing to apply them with
        self.class_mask = class_mask
        self.exclusive = exclusive
        self.allowed = self._allowed() if class_mask else None
        self.groups = self._groups() if exclusive else []

    @classmethod
    def from_file(cls, path):
        """A decoder from a JSON config (what ``tune_attributes.py`` writes)."""
        spec = load_json(path, 'attribute decoder')
        if not isinstance(spec, dict) or spec.get('type', 'AttributeDecoder') != 'AttributeDecoder':
            raise FashionpediaDataError(f'{path}: not an AttributeDecoder config')
        return cls(**{k: v for k, v in spec.items() if k != 'type'})

    def _allowed(self):
        """(46, 294) bool: attribute ever seen with the category in the prior."""
        allowed = np.zeros((taxonomy.NUM_CLASSES, taxonomy.NUM_ATTRIBUTES), bool)
        for cid, counts in self.prior['attribute_counts'].items():
            for aid, n in counts.items():
                if n > 0 and int(cid) < taxonomy.NUM_CLASSES:
                    allowed[int(cid), taxonomy.ATTR_ID_TO_INDEX[int(aid)]] = True
        return allowed

    def _groups(self):
        """[(category id, (294,) bool member mask)] of the prior's exclusive groups."""
        out = []
        for g in self.prior.get('exclusive_groups', []):
            mask = np.zeros(taxonomy.NUM_ATTRIBUTES, bool)
            mask[[taxonomy.ATTR_ID_TO_INDEX[a] for a in g['attribute_ids']]] = True
            out.append((int(g['category_id']), mask))
        return out

    def keep_mask(self, attr_scores, category_ids):
        """(N, 294) bool of the attributes to predict. ``category_ids``: (N,) official ids."""
        scores = np.asarray(attr_scores, dtype=np.float32).reshape(-1, taxonomy.NUM_ATTRIBUTES)
        cats = np.asarray(category_ids, dtype=np.int64).reshape(-1)
        keep = scores >= self.thresholds[None]
        if self.allowed is not None:
            keep &= self.allowed[cats]
        for cid, members in self.groups:
            rows = np.flatnonzero(cats == cid)
            if len(rows) == 0:
                continue
            sub = np.where(keep[rows][:, members], scores[rows][:, members], -1.0)
            best = sub.argmax(1)
            group_keep = np.zeros_like(sub, dtype=bool)
            has = sub.max(1) >= 0
            group_keep[np.flatnonzero(has), best[has]] = True
            block = keep[rows]
            block[:, members] = group_keep
            keep[rows] = block
        return keep

    def decode(self, attr_scores, category_ids):
        """list (N) of sorted official attribute ids."""
        keep = self.keep_mask(attr_scores, category_ids)
        ids = np.asarray(taxonomy.ATTRIBUTE_IDS)
        return [ids[row].tolist() for row in keep]

    def to_config(self):
        """The config dict that rebuilds this decoder (what the tuning tool writes)."""
        return dict(
            type='AttributeDecoder',
            score_thr=self.score_thr,
            prior=self.prior_source,
            class_mask=self.class_mask,
            exclusive=self.exclusive)

    def __repr__(self):
        thr = self.score_thr if not isinstance(self.score_thr, dict) else 'per-group'
        return (f'AttributeDecoder(score_thr={thr}, prior={self.prior_source!r}, '
                f'class_mask={self.class_mask}, exclusive={self.exclusive})')


def thresholds_vector(score_thr):
    """(294,) float32 thresholds from a float or a ``default/supercategory/attribute`` dict."""
    if isinstance(score_thr, (int, float)):
        return np.full(taxonomy.NUM_ATTRIBUTES, float(score_thr), np.float32)
    if not isinstance(score_thr, dict):
        raise FashionpediaDataError(f'attribute score_thr must be a number, a dict or a JSON '
                                    f'path, got {type(score_thr).__name__}')
    unknown = set(score_thr) - {'default', 'supercategory', 'attribute'}
    if unknown:
        raise FashionpediaDataError(f'attribute score_thr: unknown key(s) {sorted(unknown)}; use '
                                    'default, supercategory, attribute')
    out = np.full(taxonomy.NUM_ATTRIBUTES, float(score_thr.get('default', DEFAULT_SCORE_THR)),
                  np.float32)
    sups = np.asarray(taxonomy.ATTRIBUTE_SUPERCATEGORIES)
    for sup, thr in (score_thr.get('supercategory') or {}).items():
        if sup not in sups:
            raise FashionpediaDataError(f'attribute score_thr: unknown super-category {sup!r}; '
                                        f'known: {sorted(set(sups))}')
        out[sups == sup] = thr
    for aid, thr in (score_thr.get('attribute') or {}).items():
        if int(aid) not in taxonomy.ATTR_ID_TO_INDEX:
            raise FashionpediaDataError(f'attribute score_thr: unknown attribute id {aid}')
        out[taxonomy.ATTR_ID_TO_INDEX[int(aid)]] = thr
    return out
