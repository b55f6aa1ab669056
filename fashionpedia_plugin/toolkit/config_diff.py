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

ABSENT = '<absent>'


def _item_names(items):
    """Names of list items: ``Type`` for dicts with a ``type`` (``Type#2`` for repeats), else
    the index. Lists of hooks or transforms then match by type, not by position."""
    if not items or not all(isinstance(v, dict) and 'type' in v for v in items):
        return [str(i) for i in range(len(items))]
    seen, names = {}, []
    for v in items:
        t = str(v['type'])
        seen[t] = seen.get(t, 0) + 1
        names.append(t if seen[t] == 1 else f'{t}#{seen[t]}')
    return [f'[{n}]' for n in names]


def flatten(obj, prefix=''):
    """Nested dicts/lists -> {dotted.key: leaf}. Lists of typed dicts are keyed by type
    (``custom_hooks.[ValLossHook].type``), other lists of containers by index; each such list
    item also gets a ``key`` entry holding the whole item (to report insertions as one row)."""
    out = {}
    if isinstance(obj, dict):
        if not obj and prefix:
            out[prefix] = {}
        for k, v in obj.items():
            out.update(flatten(v, f'{prefix}.{k}' if prefix else str(k)))
    elif isinstance(obj, (list, tuple)) and any(isinstance(v, (dict, list, tuple)) for v in obj):
        for name, v in zip(_item_names(obj), obj):
            key = f'{prefix}.{name}'
            out[key + '.@item'] = v
            out.update(flatten(v, key))
    else:
        out[prefix] = list(obj) if isinstance(obj, tuple) else obj
    return out


def diff_configs(flats, ignore=NOISE):
    """``flats``: list of flattened configs. Returns rows ``(key, [values...], status)`` with
    status added/removed/changed relative to the first config (:data:`ABSENT` = key absent).
    A list item (hook, transform) present on one side only is one row, ``inserted`` or
    ``removed``, with the whole item as its value."""
    keys = sorted(set().union(*flats))
    missing = object()
    whole = set()  # list items inserted/removed as a whole
    rows = []
    for key in keys:
        if any(fnmatch.fnmatch(key, pat) for pat in ignore):
            continue
        if any(key.startswith(w + '.') for w in whole):
            continue
        vals = [f.get(key, missing) for f in flats]
        item = key.endswith('.@item')
        if item and all(v is not missing for v in vals):
            continue  # compared key by key
        if not item and all(v == vals[0] for v in vals[1:]):
            continue
        if item:
            key = key[:-len('.@item')]
            whole.add(key)
            status = 'inserted' if vals[0] is missing else 'removed'
        elif vals[0] is missing:
            status = 'added'
        elif any(v is missing for v in vals[1:]):
            status = 'removed'
        else:
            status = 'changed'
        rows.append((key, [ABSENT if v is missing else v for v in vals], status))
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
        devs.append(('schedule length (images seen)', f'{iters} it x {b} = {images(imgs)}',
                     f'{iters0} it x {b0} = {images(imgs0)} (1x ~ 31.6 epochs)'))
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


def images(n):
    """Images seen, readable at any scale: 2,080 / 1.44 M."""
    return f'{n / 1e6:.2f} M images' if n >= 1e6 else f'{n:,} images'


def fmt(v, width=40):
    """A value as lines of at most ``width`` characters (wrapped, never cut)."""
    s = repr(v) if not isinstance(v, str) else v
    return [s[i:i + width] for i in range(0, len(s), width)] or ['']


def format_rows(rows, names, width=40):
    """The diff as a text table; long values wrap onto continuation lines."""
    kw = max([len(k) for k, _, _ in rows] + [3])
    lines = [f'{"status":<8} {"key":<{kw}} ' + ' '.join(f'{n:<{width}}' for n in names)]
    for key, vals, status in rows:
        cells = [fmt(v, width) for v in vals]
        for i in range(max(len(c) for c in cells)):
            head = f'{status:<8} {key:<{kw}} ' if i == 0 else ' ' * (10 + kw)
            lines.append(head + ' '.join(f'{(c[i] if i < len(c) else ""):<{width}}'
                                         for c in cells).rstrip())
    return '\n'.join(lines)
