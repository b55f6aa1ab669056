"""Attribute report: precision, recall and F1 per attribute and super-category, on matched
detections, plus per-class AP (IoU+F1 and IoU) and a category x super-category F1 heat-map.

Matching (our choice, the usual one for attribute quality): per image and category, detections
in score order take the unmatched non-crowd ground truth of highest IoU >= ``iou_thr`` (0.5).
On each matched pair an attribute is a true positive when both have it, a false positive when
only the detection has it and a false negative when only the ground truth has it. ``support``
is the number of matched ground truths carrying the attribute.
"""
import csv
import textwrap
from collections import defaultdict

import numpy as np
import pycocotools.mask as mask_utils

from .. import taxonomy


def match_pairs(coco_gt, coco_dt, iou_type='segm', iou_thr=0.5):
    """[(detection ann, ground-truth ann)] matched greedily by score at IoU >= ``iou_thr``."""

    def geometry(coco, a):  # polygons and uncompressed RLE as compressed RLE, as COCOeval
        return coco.annToRLE(a) if iou_type == 'segm' else a['bbox']

    dets = defaultdict(list)
    for d in coco_dt.anns.values():
        dets[d['image_id'], d['category_id']].append(d)
    pairs = []
    for (img_id, cat_id), dt in dets.items():
        gt = [
            g for g in coco_gt.imgToAnns.get(img_id, [])
            if g['category_id'] == cat_id and not g.get('iscrowd', 0)
        ]
        if not gt:
            continue
        dt = sorted(dt, key=lambda d: -d['score'])
        ious = np.asarray(
            mask_utils.iou([geometry(coco_dt, d) for d in dt], [geometry(coco_gt, g) for g in gt],
                           [0] * len(gt)))
        taken = np.zeros(len(gt), bool)
        for i, d in enumerate(dt):
            cand = np.where(taken, -1.0, ious[i])
            j = int(cand.argmax())
            if cand[j] >= iou_thr:
                taken[j] = True
                pairs.append((d, gt[j]))
    return pairs


def attribute_counts(pairs):
    """(294, 3) int: tp, fp, fn per attribute (taxonomy order) over matched pairs."""
    counts = np.zeros((taxonomy.NUM_ATTRIBUTES, 3), np.int64)
    for d, g in pairs:
        pred = set(d.get('attribute_ids') or [])
        true = set(g.get('attribute_ids') or [])
        for a in pred & true:
            counts[taxonomy.ATTR_ID_TO_INDEX[a], 0] += 1
        for a in pred - true:
            counts[taxonomy.ATTR_ID_TO_INDEX[a], 1] += 1
        for a in true - pred:
            counts[taxonomy.ATTR_ID_TO_INDEX[a], 2] += 1
    return counts


def prf(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


ROW_KEYS = ('level', 'id', 'name', 'supercategory', 'precision', 'recall', 'f1', 'support')


def _row(level, aid, name, sup, tp, fp, fn):
    return dict(zip(ROW_KEYS, (level, aid, name, sup, *prf(tp, fp, fn), int(tp + fn))))


def report_rows(pairs):
    """Rows per attribute (with support or predictions) and per super-category (micro)."""
    counts = attribute_counts(pairs)
    sups = np.asarray(taxonomy.ATTRIBUTE_SUPERCATEGORIES)
    per_attr = [
        _row('attribute', taxonomy.ATTRIBUTE_IDS[i], taxonomy.ATTRIBUTE_NAMES[i], sups[i], *c)
        for i, c in enumerate(counts) if c.sum()
    ]
    per_super = [
        _row('super-category', '', sup, sup, *counts[sups == sup].sum(0))
        for sup in sorted(set(sups)) if counts[sups == sup].sum()
    ]
    return per_super + sorted(per_attr, key=lambda r: (-r['support'], r['id']))


def heatmap_matrix(pairs):
    """(categories, super-categories, F1 matrix with NaN where nothing is there)."""
    by_cat = defaultdict(list)
    for d, g in pairs:
        by_cat[g['category_id']].append((d, g))
    sups = sorted(set(taxonomy.ATTRIBUTE_SUPERCATEGORIES))
    sup_of = np.asarray(taxonomy.ATTRIBUTE_SUPERCATEGORIES)
    cats = [c for c in taxonomy.CATEGORIES_WITH_ATTRIBUTES if c in by_cat]
    mat = np.full((len(cats), len(sups)), np.nan)
    for ci, c in enumerate(cats):
        counts = attribute_counts(by_cat[c])
        for si, sup in enumerate(sups):
            tp, fp, fn = counts[sup_of == sup].sum(0)
            if tp + fp + fn:
                mat[ci, si] = prf(tp, fp, fn)[2]
    return [taxonomy.CLASSES[c].split(',')[0] for c in cats], sups, mat


def plot_heatmap(pairs, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import seaborn as sns
    cats, sups, mat = heatmap_matrix(pairs)
    # full super-category names, wrapped (a cut "non-textile materi" reads as a typo)
    labels = [textwrap.fill(s, 14) for s in sups]
    lines = max((lbl.count('\n') + 1 for lbl in labels), default=1)
    fig, ax = plt.subplots(
        figsize=(1.6 + 0.9 * len(sups), 1.6 + 0.4 * max(len(cats), 1) + 0.25 * lines))
    sns.heatmap(
        mat,
        annot=True,
        fmt='.2f',
        vmin=0,
        vmax=1,
        cmap='viridis',
        mask=np.isnan(mat),
        xticklabels=labels,
        yticklabels=cats,
        ax=ax,
        cbar_kws=dict(label='attribute F1 (matched detections)'))
    ax.set_xlabel('attribute super-category')
    ax.set_ylabel('category')
    ax.set_xticklabels(ax.get_xticklabels(), rotation=45, ha='right', rotation_mode='anchor')
    ax.set_yticklabels(ax.get_yticklabels(), rotation=0)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [t.get_text() for t in ax.get_xticklabels()]


def write_report(rows, per_class, path):
    """``.csv``: one row per attribute/super-category/class; ``.md``: tables."""
    if path.endswith('.csv'):
        with open(path, 'w', newline='') as f:
            w = csv.writer(f)
            w.writerow([
                'level', 'id', 'name', 'supercategory', 'precision', 'recall', 'f1', 'support',
                'AP_iouf1', 'AP_iou'
            ])
            for r in rows:
                w.writerow([
                    r['level'], r['id'], r['name'], r['supercategory'], f'{r["precision"]:.4f}',
                    f'{r["recall"]:.4f}', f'{r["f1"]:.4f}', r['support'], '', ''
                ])
            for name, (ap_f1, ap_iou) in per_class.items():
                w.writerow([
                    'class', '', name, '', '', '', '', '', '' if ap_f1 is None else f'{ap_f1:.4f}',
                    f'{ap_iou:.4f}'
                ])
        return
    lines = [
        '## Attributes on matched detections (IoU >= 0.5)', '',
        '| level | id | name | super-category | precision | recall | F1 | support |',
        '|---|---|---|---|---|---|---|---|'
    ]
    for r in rows:
        lines.append(f'| {r["level"]} | {r["id"]} | {r["name"]} | {r["supercategory"]} | '
                     f'{r["precision"]:.3f} | {r["recall"]:.3f} | {r["f1"]:.3f} | '
                     f'{r["support"]} |')
    lines += ['', '## Per class', '', '| class | AP (IoU+F1) | AP (IoU) |', '|---|---|---|']
    for name, (ap_f1, ap_iou) in per_class.items():
        lines.append(f'| {name} | {"-" if ap_f1 is None else f"{ap_f1:.3f}"} | {ap_iou:.3f} |')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
