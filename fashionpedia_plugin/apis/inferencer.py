"""``FashionpediaInferencer``: mmdet's ``DetInferencer`` whose predictions carry attributes, and
the model loading it shares with ``init_model`` (checkpoint checked, inference pipeline)."""
import copy
import os.path as osp
import warnings

import mmengine
import numpy as np
from mmdet.apis import DetInferencer

from .. import taxonomy


class FashionpediaInferencer(DetInferencer):
    """Same call as ``DetInferencer`` (``inferencer('photo.jpg', out_dir=..., show=...)``);
    each prediction also has, per instance, ``attribute_ids``, ``attribute_names`` and
    ``attribute_scores`` (decoded by the config's ``test_evaluator.attr_decoder``, or
    ``attr_decoder``: a decoder config or the JSON of ``tune_attributes.py``), and
    ``class_names``. The checkpoint is opened weights-only (``trust_checkpoint=True`` to unpickle
    a file you trust fully) and checked against the model first (``apis/checkpoint.py``;
    ``allow_partial`` to load one that does not fit). Visualisations use the config's
    visualizer (``FashionpediaVisualizer`` in this project's configs: class + attributes).

    Example::

        inferencer = FashionpediaInferencer(CONFIG, CHECKPOINT, device='cpu')
        pred = inferencer('photo.jpg')['predictions'][0]
    """

    def __init__(self,
                 model=None,
                 weights=None,
                 device=None,
                 scope='mmdet',
                 palette='none',
                 show_progress=True,
                 attr_decoder=None,
                 allow_partial=False,
                 trust_checkpoint=False):
        self._allow_partial = allow_partial
        self._trust = trust_checkpoint
        super().__init__(model, weights, device, scope, palette, show_progress)
        self.attr_decoder = build_attr_decoder(self.cfg, attr_decoder)

    def _init_model(self, cfg, weights, device='cpu'):
        """``DetInferencer._init_model`` with the checkpoint checked before it is loaded."""
        with warnings.catch_warnings():  # "checkpoint is None, use COCO classes": set below
            warnings.simplefilter('ignore')
            model = super()._init_model(cfg, None, device)
        if weights is not None:
            load_checked(model, weights, self._allow_partial, self._trust)
        return model

    def _init_collate(self, cfg):
        """``BaseInferencer._init_collate`` without its registry warning: mmengine 0.10.7 looks
        the collate function up with ``FUNCTIONS.switch_scope_and_registry('mmdet')``; mmdet
        3.3.0 has no "function" registry, so mmengine warns ("Failed to search registry with
        scope "mmdet" in the "function" registry tree") and falls back to its own ``FUNCTIONS``.
        Looked up there directly: the same function, no warning."""
        from mmengine.dataset import pseudo_collate
        from mmengine.registry import FUNCTIONS
        try:
            return FUNCTIONS.get(cfg.test_dataloader.collate_fn)
        except AttributeError:
            return pseudo_collate

    def pred2dict(self, data_sample, pred_out_dir=''):
        """``DetInferencer.pred2dict`` + attributes, written to the same ``preds/*.json``."""
        result = super().pred2dict(data_sample, '')  # the parent would write before we add
        self._add_attributes(data_sample, result)
        if pred_out_dir:
            # the parent's file naming (mmdet 3.3.0 mmdet/apis/det_inferencer.py, pred2dict)
            if 'img_path' in data_sample:
                name = osp.splitext(osp.basename(data_sample.img_path))[0]
            else:
                name = str(self.num_predicted_imgs)
                self.num_predicted_imgs += 1
            mmengine.dump(result, osp.join(pred_out_dir, 'preds', name + '.json'))
        return result

    def _add_attributes(self, data_sample, result):
        pred = data_sample.pred_instances
        names = self.model.dataset_meta.get('classes', taxonomy.CLASSES)
        labels = [int(c) for c in pred.labels]
        result['class_names'] = [names[c] for c in labels]
        if 'attr_scores' not in pred:
            return
        scores = pred.attr_scores.cpu().numpy()
        keep = self.attr_decoder.keep_mask(scores,
                                           [taxonomy.CLASSES.index(names[c]) for c in labels])
        idx = [np.flatnonzero(k) for k in keep]
        result['attribute_ids'] = [[taxonomy.ATTRIBUTE_IDS[j] for j in i] for i in idx]
        result['attribute_names'] = [[taxonomy.ATTRIBUTE_NAMES[j] for j in i] for i in idx]
        result['attribute_scores'] = [[round(float(s[j]), 4) for j in i]
                                      for s, i in zip(scores, idx)]


def inference_config(cfg):
    """A copy of ``cfg`` whose test pipeline loads no annotations (a photo has none) and whose
    visualiser decodes attributes without a prior: the export draws its own overlays, and the
    prior (possibly the whole train annotation file) would otherwise be read once more."""
    cfg = copy.deepcopy(cfg)
    cfg.test_dataloader.dataset.pipeline = [
        t for t in cfg.test_dataloader.dataset.pipeline
        if 'Annotations' not in t['type'] and 'Attributes' not in t['type']
    ]
    if 'attr_decoder' in cfg.get('visualizer', {}):
        cfg.visualizer.attr_decoder = dict(type='AttributeDecoder')
    if 'visualizer' in cfg:  # a training run's LocalVisBackend has no save_dir here (a warning)
        cfg.visualizer.vis_backends = None
    return cfg


def init_model(config, checkpoint, device='cpu', allow_partial=False):
    """mmdet's ``init_detector`` with annotation loading removed from the test pipeline, and
    the checkpoint checked against the model first (:func:`.checkpoint.check_checkpoint`)."""
    from mmdet.apis import init_detector
    from mmengine.config import Config
    cfg = inference_config(Config.fromfile(config) if isinstance(config, str) else config)
    with warnings.catch_warnings():  # "checkpoint is None, use COCO classes": set below
        warnings.simplefilter('ignore')
        model = init_detector(cfg, None, device=device)
    load_checked(model, checkpoint, allow_partial)
    return model.to(device).eval()


def load_checked(model, checkpoint, allow_partial=False, trust=None):
    """Open ``checkpoint`` (weights-only unless ``trust``), check it against ``model``, load it,
    and take its ``dataset_meta`` (classes, palette of the training data; the official taxonomy
    when the checkpoint has none)."""
    from mmengine.logging import MMLogger
    from mmengine.runner.checkpoint import _load_checkpoint_to_model

    from .checkpoint import check_checkpoint, load_checkpoint_file
    ckpt = load_checkpoint_file(checkpoint, trust=trust)
    check_checkpoint(model, checkpoint, allow_partial, MMLogger.get_current_instance(), ckpt)
    ckpt = _load_checkpoint_to_model(model, ckpt, strict=False)
    meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
    model.dataset_meta = {k.lower(): v for k, v in meta.get('dataset_meta', {}).items()} or \
        dict(classes=taxonomy.CLASSES, palette=taxonomy.palette())
    return model


def build_attr_decoder(cfg, override=None):
    """The config's ``test_evaluator.attr_decoder`` (what ``tools/test.py`` evaluates with),
    or ``override`` (a decoder config dict or the JSON the tuning tool writes)."""
    from mmdet.registry import TASK_UTILS

    from ..models.task_modules import AttributeDecoder
    if isinstance(override, str):
        return AttributeDecoder.from_file(override)
    if override is not None:
        return TASK_UTILS.build(override)
    evaluator = cfg.get('test_evaluator', {})
    spec = evaluator.get('attr_decoder') if isinstance(evaluator, dict) else None
    return TASK_UTILS.build(spec) if spec else AttributeDecoder()
