"""``config_diff.py --recipe``: a resolved config against the official recipe itself.

The recipe is data (``official_recipe.json`` beside this module: each entry's value and the
official file it comes from); each entry has a reader below that finds our config's value,
whatever file it was set in. Statuses: ``match``, ``deviates``, ``documented`` (a deviation the
recipe file explains: batch 16 by design, no BN in mmdet's RPN head, ...), ``n/a`` (the source
says nothing, or the config has no such part).
"""
import json
import math
import os.path as osp
import re

RECIPE_FILE = osp.join(osp.dirname(__file__), 'official_recipe.json')
TRAIN_IMAGES = 45623  # Fashionpedia train2020, for epochs


def load_recipe(path=RECIPE_FILE):
    with open(path) as f:
        return json.load(f)


def _get(d, *keys, default=None):
    for k in keys:  # dicts, ConfigDicts and the Config itself
        if not hasattr(d, 'get') or d.get(k) is None:
            return default
        d = d.get(k)
    return d


def _norms(cfg):
    m = cfg.model
    return [
        _get(m, 'backbone', 'norm_cfg'),
        _get(m, 'neck', 'norm_cfg'),
        _get(m, 'roi_head', 'bbox_head', 'norm_cfg'),
        _get(m, 'roi_head', 'mask_head', 'norm_cfg')
    ]


def _pipeline(cfg):
    out = []
    for t in cfg.train_dataloader.dataset.get('pipeline', []):
        out.append(t)
        out.extend(t.get('transforms', []))
    return out


def _levels(strides):
    return f'P{int(math.log2(strides[0]))}-P{int(math.log2(strides[-1]))}'


def _roi_mapping(cfg):
    ext = _get(cfg.model, 'roi_head', 'bbox_roi_extractor')
    if not ext:
        return None
    strides, finest = ext['featmap_strides'], ext.get('finest_scale', 56)
    # mmdet: index floor(log2(side / finest)) -> level log2(strides[0]) + index: P4 from
    canonical = finest * 2**(4 - int(math.log2(strides[0])))
    return f'{_levels(strides)}, {canonical:g} px at P4'


def _frac(v):
    return '1/9' if abs(v - 1 / 9) < 1e-9 else f'{v:g}'


def _loss(loss):
    """Type and factor: ``smooth L1 beta 1/9 x 1/9`` (the official Huber loss with delta d is
    d x smooth L1 with beta d, modeling/losses.py)."""
    if not loss:
        return None
    w = _frac(loss.get('loss_weight', 1.0))
    if loss['type'] == 'SmoothL1Loss':
        return f'smooth L1 beta {_frac(loss.get("beta", 1.0))} x {w}'
    if loss['type'] == 'CrossEntropyLoss':
        kind = 'mask sigmoid' if loss.get('use_mask') else \
            'sigmoid' if loss.get('use_sigmoid') else 'softmax'
        return f'{kind} CE x {w}'
    return loss['type'].replace('Loss', ' loss').replace('L1 loss', 'L1') + f' x {w}'


def _rpn_box_loss(cfg):
    h = _get(cfg.model, 'rpn_head') or {}
    loss = _loss(h.get('loss_bbox'))
    if loss is None:
        return None
    ours = h.get('type') == 'OfficialRPNHead'
    matched = ours and h.get('box_loss_anchors', 'matched') == 'matched'
    per_level = ours and h.get('box_loss_norm', 'nonzero_per_level') == 'nonzero_per_level'
    return loss + (', all matched anchors' if matched else ', sampled positives') + (
        ', / non-zero targets, per level' if per_level else ', / sampled anchors')


def _anchor_centres(cfg):
    anchor = _get(cfg.model, 'rpn_head', 'anchor_generator') or {}
    if not anchor:
        return None
    offset = anchor.get('center_offset', 0.0)  # mmdet AnchorGenerator: centre = offset x stride
    return 'stride / 2 + k x stride' if offset == 0.5 else f'{offset:g} x stride + k x stride'


def _rpn_matching(cfg):
    """The RPN assigner (MaxIoUAssigner): fg ``IoU >= pos_iou_thr``, bg ``< neg_iou_thr``;
    low-quality matches give each ground truth its best anchor (``gt_max_assign_all``: all
    anchors tied at that IoU) when that IoU is ``>= min_pos_iou``."""
    a = _get(cfg.model, 'train_cfg', 'rpn', 'assigner') or {}
    if a.get('type', 'MaxIoUAssigner') != 'MaxIoUAssigner' or 'pos_iou_thr' not in a:
        return None
    text = f'fg >= {a["pos_iou_thr"]:g}, bg < {a["neg_iou_thr"]:g}'
    if not a.get('match_low_quality', True):
        return text
    best = "each gt's best anchors" if a.get('gt_max_assign_all', True) else "each gt's best anchor"
    low = a.get('min_pos_iou', 0.0)
    return text + f', + {best}' + (f' at IoU >= {low:g}' if low > 0 else '')


def _roi_align(cfg):
    """mmcv RoIAlign of the box (and mask) RoI extractor: ``sampling_ratio`` points per bin
    side (0: adaptive, ceil(bin size)), ``aligned`` = the half-pixel shift."""
    texts = []
    for key in ('bbox_roi_extractor', 'mask_roi_extractor'):
        layer = _get(cfg.model, 'roi_head', key, 'roi_layer')
        if not layer:
            continue
        ratio = layer.get('sampling_ratio', 0)
        n = 'adaptive samples' if ratio == 0 else f'{ratio**2} sample{"s" if ratio > 1 else ""}'
        shift = 'half-pixel shift' if layer.get('aligned', True) else 'no half-pixel shift'
        texts.append(f'{n} per bin, {shift}')
    if not texts:
        return None
    return texts[0] if len(set(texts)) == 1 else f'box: {texts[0]}; mask: {texts[1]}'


def _mask_targets(cfg):
    if not _get(cfg.model, 'roi_head', 'mask_head'):
        return None
    rcnn = _get(cfg.model, 'train_cfg', 'rcnn') or {}
    return 'soft' if rcnn.get('soft_mask_target', False) else 'binary (> 0.5)'


def _rcnn_box_loss(cfg):
    h = _get(cfg.model, 'roi_head', 'bbox_head') or {}
    loss = _loss(h.get('loss_bbox'))
    if loss is None:
        return None
    official = h.get('box_loss_norm') == 'positive_coords'
    return loss + (', / positive RoIs x 4' if official else ', / sampled RoIs')


def _rpn_norm(cfg):
    h = _get(cfg.model, 'rpn_head') or {}
    return 'per level' if h.get('type') == 'OfficialRPNHead' and h.get('norm_cfg') else False


def _fpn_norm(cfg):
    neck = _get(cfg.model, 'neck') or {}
    if not neck.get('norm_cfg'):
        return False
    return 'outputs' if neck.get('type') == 'OfficialFPN' else 'laterals + outputs'


def _mask_head(cfg):
    h = _get(cfg.model, 'roi_head', 'mask_head') or {}
    if not h:
        return None
    bn = ' BN' if h.get('norm_cfg') else ''
    up_bn = ' BN' if h.get('type') == 'OfficialFCNMaskHead' and h.get('upsample_norm_cfg') else ''
    return f'{h.get("num_convs", 4)} conv{bn} + deconv{up_bn}'


def _head(cfg):
    h = _get(cfg.model, 'roi_head', 'bbox_head') or {}
    convs, fcs = h.get('num_shared_convs', 0), h.get('num_shared_fcs', 2)
    if h.get('type') in ('Shared2FCBBoxHead', ):
        convs, fcs = 0, 2
    if h.get('type') == 'Shared4Conv1FCBBoxHead':
        convs, fcs = 4, 1
    bn = ' BN' if h.get('norm_cfg') else ''  # mmdet's ConvFCBBoxHead: on the convs only
    fc_bn = ' BN' if h.get('fc_norm_cfg') else ''  # OfficialConvFCBBoxHead: and its fcs
    return f'{convs} conv{bn} + {fcs} fc {h.get("fc_out_channels", 1024)}{fc_bn}'.replace(
        '0 conv + ', '')


def _schedule(cfg, gpus):
    tc = cfg.train_cfg
    batch = cfg.train_dataloader.batch_size * gpus
    if 'max_iters' not in tc:
        return None, None
    drops = []
    for s in cfg.get('param_scheduler', []) or []:
        if s.get('type') == 'MultiStepLR':
            drops = [m * batch for m in s['milestones']]
    return tc.max_iters * batch, drops


def _warmup(cfg, gpus):
    for s in cfg.get('param_scheduler', []) or []:
        if s.get('type') == 'LinearLR':
            return s['end'] * cfg.train_dataloader.batch_size * gpus
    return 0


def _jitter(cfg):
    for t in _pipeline(cfg):
        if t['type'] == 'RandomResize':
            return [max(t['scale']), list(t.get('ratio_range') or [1.0, 1.0])]
        if t['type'] == 'Resize':
            return [max(t['scale']), [1.0, 1.0]]
    return None


def _attribute(cfg):
    h = _get(cfg.model, 'roi_head', 'bbox_head') or {}
    return h.get('attr_target', 'official') if 'AttributeConvFCBBoxHead' in h.get('type', '') \
        else 'absent (no attributes learned)'


def _decay_scope(cfg):
    pw = cfg.optim_wrapper.get('paramwise_cfg') or {}
    if pw.get('norm_decay_mult') == 0 and pw.get('bias_decay_mult') == 0:
        return 'kernels only'
    return 'all parameters'


def _iou_text(thr):
    """``> 0.5`` for a threshold one float32 step above 0.5 (how the official strict ``>`` is
    written for mmdet's ``IoU >= pos_iou_thr``, IoUs being float32), else ``>= thr``."""
    import numpy as np
    base = round(thr, 4)
    if thr > base and np.float32(thr) == np.nextafter(np.float32(base), np.float32(1)):
        return f'> {base:g}'
    return f'>= {thr:g}'


def _roi_iou(cfg):
    """The R-CNN assigner's foreground and background IoU ranges (MaxIoUAssigner: fg
    ``IoU >= pos_iou_thr``, bg ``min_neg <= IoU < neg_iou_thr``, the rest ignored), plus
    low-quality matches when on."""
    a = _get(cfg.model, 'train_cfg', 'rcnn', 'assigner') or {}
    if a.get('type', 'MaxIoUAssigner') != 'MaxIoUAssigner' or 'pos_iou_thr' not in a:
        return None
    neg = a.get('neg_iou_thr')
    lo, hi = neg if isinstance(neg, (list, tuple)) else (0, neg)
    text = f'fg {_iou_text(a["pos_iou_thr"])}, bg [{lo:g}, {hi:g})'
    return text + (', + low-quality matches' if a.get('match_low_quality', True) else '')


def read_ours(cfg, gpus):
    """Our config's value of every recipe entry."""
    m = cfg.model
    norms = _norms(cfg)
    anchor = _get(m, 'rpn_head', 'anchor_generator') or {}
    test = _get(m, 'test_cfg', 'rcnn') or {}
    sampler = _get(m, 'train_cfg', 'rcnn', 'sampler') or {}
    batch = cfg.train_dataloader.batch_size * gpus
    images, drops = _schedule(cfg, gpus)
    bb_norm = _get(m, 'backbone', 'norm_cfg') or {}
    init = _get(m, 'backbone', 'init_cfg')
    return {
        'norm layers':
        '/'.join(sorted({n['type']
                         for n in norms if n})),
        'norm trainable':
        bool(
            bb_norm.get('requires_grad', True)
            and not _get(m, 'backbone', 'norm_eval', default=True)),
        'norm momentum / eps (torch)': [bb_norm.get('momentum', 0.1),
                                        bb_norm.get('eps', 1e-5)],
        'frozen backbone stages':
        _get(m, 'backbone', 'frozen_stages', default=-1),
        'FPN levels':
        None if not anchor else _levels(anchor['strides']),
        'FPN batch norm':
        _fpn_norm(cfg),
        'RPN conv batch norm':
        _rpn_norm(cfg),
        'anchor side / ratios': [f'{anchor["scales"][0]:g} x stride',
                                 sorted(anchor['ratios'])] if anchor else None,
        'anchor centres':
        _anchor_centres(cfg),
        'RPN anchor matching':
        _rpn_matching(cfg),
        'RoI level mapping':
        _roi_mapping(cfg),
        'RoIAlign sampling':
        _roi_align(cfg),
        'box head':
        _head(cfg),
        'mask head':
        _mask_head(cfg),
        'RPN score loss':
        _loss(_get(m, 'rpn_head', 'loss_cls'))
        and _loss(_get(m, 'rpn_head', 'loss_cls')) + ', / sampled anchors',
        'RPN box loss':
        _rpn_box_loss(cfg),
        'R-CNN class loss':
        _loss(_get(m, 'roi_head', 'bbox_head', 'loss_cls'))
        and _loss(_get(m, 'roi_head', 'bbox_head', 'loss_cls')) + ', / sampled RoIs',
        'R-CNN box loss':
        _rcnn_box_loss(cfg),
        'mask loss':
        _loss(_get(m, 'roi_head', 'mask_head', 'loss_mask'))
        and _loss(_get(m, 'roi_head', 'mask_head', 'loss_mask')) + ', / positive-RoI pixels',
        'mask targets':
        _mask_targets(cfg),
        'RoIs sampled per image / fg fraction': [sampler.get('num'),
                                                 sampler.get('pos_fraction')],
        'RoI fg / bg IoU':
        _roi_iou(cfg),
        'attribute branch and target':
        _attribute(cfg),
        'attribute threshold':
        _get(cfg, 'val_evaluator', 'attr_decoder', 'score_thr'),
        'optimizer momentum':
        cfg.optim_wrapper.optimizer.get('momentum'),
        'weight decay':
        cfg.optim_wrapper.optimizer.get('weight_decay'),
        'weight decay scope':
        _decay_scope(cfg),
        'total batch':
        batch,
        'lr per image':
        cfg.optim_wrapper.optimizer.lr / batch,
        'warm-up (images)':
        _warmup(cfg, gpus),
        'schedule (images seen)':
        images,
        'lr drops (images seen)':
        drops,
        'input size / scale jitter':
        _jitter(cfg),
        'test score / NMS / detections':
        [test.get('score_thr'),
         _get(test, 'nms', 'iou_threshold'),
         test.get('max_per_img')],
        'backbone initialisation':
        (init or {}).get('checkpoint') if isinstance(init, dict) else 'from scratch',
    }


def _close(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=0.02)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    return a == b


SCHEDULES = ('1x', '2x', '3x', '6x')  # the schedules of official_recipe.json


def schedule_of(config_path):
    """(schedule, note) the recipe check compares a config with: the one its file name says
    (``..._lsj-1x_...`` -> 1x; mmdet's naming), else 3x (the released R50 yaml)."""
    m = re.search(r'(?:^|[_-])(\d+x)(?:[_-]|\.py$)', osp.basename(config_path))
    if m and m.group(1) in SCHEDULES:
        return m.group(1), ': from the config name; --schedule to choose'
    return '3x', ': the released one (the config name says none); --schedule to choose'


def gpus_of(config_path):
    """(GPUs, note) of mmdet's ``NxbM`` in a config's file name (``..._8xb8-lsj-1x_...``: 8 GPUs
    x 8), or ``(None, '')``: the name says the GPU count the config is meant for, beside its
    per-GPU batch."""
    m = re.search(r'(?:^|[_-])(\d+)xb(\d+)(?=[_-]|\.py$)', osp.basename(config_path))
    if not m:
        return None, ''
    n = int(m.group(1))
    return n, (f'; {n} GPU{"s" if n != 1 else ""}: from the config name ({n}xb{m.group(2)}), '
               'its schedule resolved for that total batch as tools/train.py does; --gpus to '
               'choose')


def intended_gpus(cfg):
    """The number of GPUs a config is written for: ``auto_scale_lr.base_batch_size`` (the total
    batch its lr is set for) / ``batch_size`` (per GPU)."""
    base = _get(cfg, 'auto_scale_lr', 'base_batch_size')
    per_gpu = cfg.train_dataloader.batch_size
    return max(1, base // per_gpu) if base else 1


def check(cfg, recipe=None, schedule='3x', gpus=None):
    """Rows ``(entry, ours, official, status, source or note)``; ``gpus`` default:
    :func:`intended_gpus`."""
    recipe = recipe or load_recipe()
    gpus = gpus or intended_gpus(cfg)
    ours = read_ours(cfg, gpus)
    rows = []
    for name, entry in recipe['entries'].items():
        official = entry['value']
        if isinstance(official, dict):
            official = official[schedule]
        mine = ours.get(name)
        if official is None or mine is None:
            status = 'n/a'
        elif _close(mine, official):
            status = 'match'
        elif entry.get('documented') and all(
                _close(ours.get(dep), recipe['entries'][dep]['value'])
                for dep in entry.get('documented_if', [])):
            status = 'documented'
        else:
            status = 'deviates'
        note = entry['source'] + (f'; {entry["documented"]}' if status == 'documented' else '')
        rows.append((name, mine, official, status, note))
    return rows


def images_text(v):
    if isinstance(v, list):
        return '[' + ', '.join(images_text(x) for x in v) + ']'
    if isinstance(v, (int, float)) and v >= 1e4:  # images: in millions, 3 digits
        return f'{v / 1e6:.3g} M'
    return f'{v:g}' if isinstance(v, float) else str(v)


def format_check(rows):
    w = max(len(r[0]) for r in rows)
    texts = [(images_text(r[1]), images_text(r[2])) for r in rows]
    wo = max(28, max(len(t[0]) for t in texts))
    wt = max(28, max(len(t[1]) for t in texts))
    lines = [f'{"entry":<{w}}  {"status":<10}  {"ours":<{wo}}  {"official":<{wt}}  source']
    for (name, mine, official, status, note), (ours, theirs) in zip(rows, texts):
        if name == 'schedule (images seen)':
            ours += f' ({mine / TRAIN_IMAGES:.0f} ep)' if mine else ''
            theirs += f' ({official / TRAIN_IMAGES:.0f} ep)'
        lines.append(f'{name:<{w}}  {status:<10}  {ours:<{wo}}  {theirs:<{wt}}  {note}')
    counts = {
        s: sum(1 for r in rows if r[3] == s)
        for s in ('match', 'deviates', 'documented', 'n/a')
    }
    lines.append('\n' + ', '.join(f'{n} {s}' for s, n in counts.items()))
    return '\n'.join(lines)
