"""Key-level comparison of resolved mmengine configs, and checks against the paper's recipe.

mmengine has ``Config.diff`` (a unified text diff of two dumped files); this flattens resolved
configs (inheritance and ``--cfg-options`` applied) to dotted keys, so differences read as
``optim_wrapper.optimizer.lr: 0.02 -> 0.0001`` whatever file each value came from.
"""
import fnmatch
import os.path as osp

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RECIPE_CONFIG = osp.join(REPO, 'configs', 'attr-mask-rcnn',
                         'attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py')
NOISE = ('work_dir', 'launcher', 'filename', 'load_from', 'resume', 'experiment_name',
         '*.backend_args', 'custom_imports.*', 'visualizer.*', 'vis_backends.*')


def flatten(obj, prefix=''):
    """Nested dicts/lists -> {dotted.key: leaf}. List items are indexed (``pipeline.2.type``)."""
    out = {}
    if isinstance(obj, dict):
        if not obj and prefix:
            out[prefix] = {}
        for k, v in obj.items():
            out.update(flatten(v, f'{prefix}.{k}' if prefix else str(k)))
    elif isinstance(obj, (list, tuple)) and any(isinstance(v, (dict, list, tuple)) for v in obj):
        for i, v in enumerate(obj):
            out.update(flatten(v, f'{prefix}.{i}'))
    else:
        out[prefix] = list(obj) if isinstance(obj, tuple) else obj
    return out


def diff_configs(flats, ignore=NOISE):
    """``flats``: list of flattened configs. Returns rows ``(key, [values...], status)`` with
    status added/removed/changed relative to the first config (``None`` = key absent)."""
    keys = sorted(set().union(*flats))
    rows = []
    missing = object()
    for key in keys:
        if any(fnmatch.fnmatch(key, pat) for pat in ignore):
            continue
        vals = [f.get(key, missing) for f in flats]
        if all(v == vals[0] for v in vals[1:]):
            continue
        if vals[0] is missing:
            status = 'added'
        elif any(v is missing for v in vals[1:]):
            status = 'removed'
        else:
            status = 'changed'
        rows.append((key, [None if v is missing else v for v in vals], status))
    return rows


def _total_batch(cfg, gpus):
    return cfg.train_dataloader.batch_size * gpus


def _train_images(cfg, gpus):
    tc = cfg.train_cfg
    if tc.get('type', '') == 'IterBasedTrainLoop' or 'max_iters' in tc:
        return tc.max_iters * _total_batch(cfg, gpus), tc.max_iters
    return None, None


def _milestones(cfg):
    for s in cfg.get('param_scheduler', []) or []:
        if s.get('type') == 'MultiStepLR':
            return list(s.milestones)
    return []


def _pipeline_types(cfg):
    types = []
    for t in cfg.train_dataloader.dataset.get('pipeline', []):
        types.append(t)
        types.extend(t.get('transforms', []))
    return types


def recipe_deviations(cfg, recipe, gpus=1, recipe_gpus=8):
    """Deviations from the paper's recipe known to matter; list of (what, candidate, recipe)."""
    devs = []
    lr, lr0 = cfg.optim_wrapper.optimizer.lr, recipe.optim_wrapper.optimizer.lr
    b, b0 = _total_batch(cfg, gpus), _total_batch(recipe, recipe_gpus)
    if abs(lr / b - lr0 / b0) > 0.25 * lr0 / b0:
        devs.append(('learning rate per image (linear scaling rule)',
                     f'{lr:g} / batch {b} = {lr / b:.3g}', f'{lr0:g} / batch {b0} = '
                     f'{lr0 / b0:.3g} ({lr / b / (lr0 / b0):.2g}x)'))
    imgs, iters = _train_images(cfg, gpus)
    imgs0, iters0 = _train_images(recipe, recipe_gpus)
    if imgs and imgs0 and abs(imgs / imgs0 - 1) > 0.1:
        devs.append(('schedule length (images seen)', f'{iters} it x {b} = {imgs / 1e6:.2f} M',
                     f'{iters0} it x {b0} = {imgs0 / 1e6:.2f} M (1x ~ 31.6 epochs)'))
    ms, ms0 = _milestones(cfg), _milestones(recipe)
    if iters and iters0:
        frac = [round(m / iters, 3) for m in ms]
        frac0 = [round(m / iters0, 3) for m in ms0]
        if frac != frac0:
            devs.append(
                ('lr steps (fraction of schedule)', str(frac or 'none (constant lr)'), str(frac0)))
    n = cfg.model.get('train_cfg', {}).get('rcnn', {}).get('sampler', {}).get('num')
    n0 = recipe.model.train_cfg.rcnn.sampler.num
    if n != n0:
        devs.append(('RoIs sampled per image (rcnn sampler num)', str(n), str(n0)))
    fs, fs0 = cfg.model.backbone.get('frozen_stages', -1), recipe.model.backbone.frozen_stages
    if fs != fs0:
        devs.append(('frozen backbone stages', str(fs), str(fs0)))

    def jitter(c):
        for t in _pipeline_types(c):
            if t['type'] in ('RandomResize', 'RandomChoiceResize'):
                return f'{t["type"]} scale {t.get("scale")} ratio {t.get("ratio_range")}'
        return 'none'

    def crop(c):
        for t in _pipeline_types(c):
            if t['type'] == 'RandomCrop':
                return str(t.get('crop_size'))
            if t['type'] == 'Resize':
                return f'resize to {t.get("scale")}'
        return 'none'

    if jitter(cfg) != jitter(recipe):
        devs.append(('scale jitter', jitter(cfg), jitter(recipe) + ' (large-scale jitter)'))
    if crop(cfg) != crop(recipe):
        devs.append(('input size / crop', crop(cfg), crop(recipe)))
    la = cfg.model.roi_head.get('bbox_head', {}).get('loss_attr')
    la0 = recipe.model.roi_head.bbox_head.loss_attr
    if la is None:
        devs.append(('attribute branch', 'absent (no attributes learned)',
                     f'loss_attr weight {la0.loss_weight}'))
    elif la.get('loss_weight') != la0.loss_weight:
        devs.append(('attribute loss weight', str(la.get('loss_weight')), str(la0.loss_weight)))
    return devs


def fmt(v, width=40):
    s = repr(v) if not isinstance(v, str) else v
    return s if len(s) <= width else s[:width - 3] + '...'
