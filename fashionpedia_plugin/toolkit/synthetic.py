"""Deterministic synthetic Fashionpedia data: figures wearing garments, in the official format.

Why synthetic: no dataset can be downloaded on the machines this project is developed and tested
on, and the demo must learn in minutes on 2 CPU cores. Every instance uses the official
category and attribute ids, and every attribute listed is *visible* in the pixels, so it is
learnable:

========================  ==========================================================
category (official id)     attributes (official id) and how they are drawn
========================  ==========================================================
top, t-shirt (1)           pattern: plain (317) / stripe (328) / dot (323)
jacket (4)                 pattern; open front drawn as a dark centre line
dress (10)                 pattern; length: mini (149) / maxi (154)
pants (6)                  pattern; silhouette: straight (128) / wide leg (132)
skirt (8)                  pattern; length: mini (149) / midi (153)
sleeve (31)                length: short (157) / wrist-length (160)
neckline (33)              type: round (182) / v-neck (183)
pocket (32)                none (empty attribute list, as often in the real data)
shoe (23)                  none (a category that never carries attributes)
========================  ==========================================================

Parts (sleeves, neckline, pockets) lie inside their garment's mask, as in the real annotations
(the official 2-image sample: every sleeve, neckline and collar lies entirely inside its
garment; ``tests/test_synthetic.py`` measures both): the upper garment's segmentation is its body
*and* its sleeves (one polygon each), the neckline and pockets are drawn inside the body. Two
figures may overlap each other. Polygons are the drawn shapes, so the masks are exact.
``generate`` writes ``<out>/{train,test}/*.jpg`` and
``<out>/annotations/instances_attributes_{train,val}2020.json`` -- the layout of the real download.
"""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pycocotools.mask as mask_utils

from .. import taxonomy

TOP, JACKET, PANTS, SKIRT, DRESS, SHOE, SLEEVE, POCKET, NECKLINE = 1, 4, 6, 8, 10, 23, 31, 32, 33
PLAIN, STRIPE, DOT = 317, 328, 323
MINI, MIDI, MAXI = 149, 153, 154
STRAIGHT, WIDE_LEG = 128, 132
SHORT, WRIST = 157, 160
ROUND, V_NECK = 182, 183
SYNTHETIC_CATEGORIES = (TOP, JACKET, PANTS, SKIRT, DRESS, SHOE, SLEEVE, POCKET, NECKLINE)
VERSION = '2.0'  # 2.0: garment masks hold their sleeves (the real convention); demo.sh checks it
SPLITS = dict(
    train=('train', 'instances_attributes_train2020.json'),
    val=('test', 'instances_attributes_val2020.json'))


def _colour(rng, lo=30, hi=225):
    return tuple(int(v) for v in rng.randint(lo, hi, size=3))


def _paint(img, poly, colour, pattern, rng):
    """Fill ``poly`` (K, 2) with a plain, striped or dotted texture."""
    pts = np.round(poly).astype(np.int32)
    if pattern == PLAIN:
        cv2.fillPoly(img, [pts], colour)
        return
    x0, y0 = np.maximum(pts.min(0), 0)
    x1, y1 = np.minimum(pts.max(0) + 1, (img.shape[1], img.shape[0]))
    if x1 <= x0 or y1 <= y0:
        return
    patch = np.empty((y1 - y0, x1 - x0, 3), np.uint8)
    patch[:] = colour
    other = tuple(255 - c for c in colour)
    if pattern == STRIPE:
        period = int(rng.randint(6, 10))
        for y in range(int(rng.randint(0, period)), patch.shape[0], period):
            patch[y:y + period // 2] = other
    else:  # DOT
        period = int(rng.randint(8, 12))
        for y in range(period // 2, patch.shape[0], period):
            for x in range(period // 2 + (y // period % 2) * period // 2, patch.shape[1], period):
                cv2.circle(patch, (x, y), max(2, period // 4), other, -1)
    mask = np.zeros(patch.shape[:2], np.uint8)
    cv2.fillPoly(mask, [pts - [x0, y0]], 1)
    region = img[y0:y1, x0:x1]
    region[mask > 0] = patch[mask > 0]


def _figure(rng, cx, top, h):
    """Instances of one figure, in drawing order: (category, attribute ids, polygon, pattern)."""
    out = []
    u = h / 100.0  # figure units: 100 = head to feet
    sh_y, waist_y = top + 16 * u, top + 46 * u
    sh_w, waist_w = 14 * u, 11 * u
    pattern = int(rng.choice([PLAIN, STRIPE, DOT]))
    lower_pattern = int(rng.choice([PLAIN, STRIPE, DOT]))
    upper = int(rng.choice([TOP, JACKET, DRESS], p=[0.45, 0.25, 0.30]))
    if upper != DRESS:  # lower garment first: the upper garment overlaps its waistband
        if rng.rand() < 0.5:
            wide = rng.rand() < 0.5
            spread = (9 if wide else 4) * u
            # pants: one instance, both legs in one outline
            poly = np.array([[cx - waist_w, waist_y - 2 * u], [cx + waist_w, waist_y - 2 * u],
                             [cx + waist_w + spread, top + 92 * u], [cx + 1.5 * u, top + 92 * u],
                             [cx, top + 60 * u], [cx - 1.5 * u, top + 92 * u],
                             [cx - waist_w - spread, top + 92 * u]])
            out.append((PANTS, [lower_pattern,
                                WIDE_LEG if wide else STRAIGHT], poly, lower_pattern))
            px = cx + waist_w * 0.45
            # below a jacket's hem (waist + 8 units), so never hidden
            out.append((POCKET, [],
                        np.array([[px - 3 * u, waist_y + 11 * u], [px + 3 * u, waist_y + 11 * u],
                                  [px + 3 * u, waist_y + 18 * u], [px - 3 * u,
                                                                   waist_y + 18 * u]]), PLAIN))
        else:
            midi = rng.rand() < 0.5
            hem = top + (75 if midi else 62) * u
            poly = np.array([[cx - waist_w, waist_y - 2 * u], [cx + waist_w, waist_y - 2 * u],
                             [cx + waist_w + 8 * u, hem], [cx - waist_w - 8 * u, hem]])
            out.append((SKIRT, [lower_pattern, MIDI if midi else MINI], poly, lower_pattern))
    feet_y = top + 92 * u
    # upper garment
    if upper == DRESS:
        maxi = rng.rand() < 0.5
        hem = top + (88 if maxi else 64) * u
        flare = (14 if maxi else 9) * u
        poly = np.array([[cx - sh_w, sh_y], [cx + sh_w, sh_y], [cx + waist_w, waist_y],
                         [cx + waist_w + flare, hem], [cx - waist_w - flare, hem],
                         [cx - waist_w, waist_y]])
        out.append((DRESS, [pattern, MAXI if maxi else MINI], poly, pattern))
    else:
        hem = waist_y + (8 if upper == JACKET else 2) * u
        poly = np.array([[cx - sh_w, sh_y], [cx + sh_w, sh_y], [cx + waist_w + u, hem],
                         [cx - waist_w - u, hem]])
        out.append((upper, [pattern], poly, pattern))
        if upper == JACKET:
            px = cx - waist_w * 0.5
            out.append((POCKET, [],
                        np.array([[px - 3 * u, waist_y - 4 * u], [px + 3 * u, waist_y - 4 * u],
                                  [px + 3 * u, waist_y + 3 * u], [px - 3 * u,
                                                                  waist_y + 3 * u]]), PLAIN))
    # sleeves: parts overlapping the shoulders of the upper garment
    long_sleeve = rng.rand() < 0.5
    length = (30 if long_sleeve else 12) * u
    for side in (-1, 1):
        x_in = cx + side * (sh_w - 3 * u)
        x_out = cx + side * (sh_w + 3 * u)
        poly = np.array([[x_in, sh_y], [x_out, sh_y], [x_out + side * 6 * u, sh_y + length],
                         [x_in + side * 5 * u, sh_y + length]])
        out.append((SLEEVE, [WRIST if long_sleeve else SHORT], poly, pattern))
    # neckline: skin-coloured opening at the top centre
    v_neck = rng.rand() < 0.5
    if v_neck:
        poly = np.array([[cx - 5 * u, sh_y], [cx + 5 * u, sh_y], [cx, sh_y + 10 * u]])
    else:
        ang = np.linspace(0, np.pi, 12)
        poly = np.stack([cx + 5.5 * u * np.cos(ang), sh_y + 5.5 * u * np.sin(ang)], 1)
    out.append((NECKLINE, [V_NECK if v_neck else ROUND], poly, None))
    # shoes
    for side in (-1, 1):
        x = cx + side * (waist_w + 2 * u)
        out.append((SHOE, [],
                    np.array([[x - 5 * u, feet_y], [x + 5 * u, feet_y], [x + 6 * u, feet_y + 6 * u],
                              [x - 5 * u, feet_y + 6 * u]]), PLAIN))
    return out


def render_image(seed, size=320):
    """One image and its instances: ``(img HxWx3 BGR uint8, [(cat, attrs, [polygons])])``."""
    rng = np.random.RandomState(seed)
    h = w = size
    base = np.array(_colour(rng, 150, 255), np.float32)
    grad = np.linspace(-20, 20, h, dtype=np.float32)[:, None, None]
    img = np.clip(base + grad + rng.randn(h, 1, 1) * 2, 0, 255).astype(np.uint8).repeat(w, 1)
    n_fig = 1 if rng.rand() < 0.6 else 2
    instances = []
    for k in range(n_fig):
        fh = size * (rng.uniform(0.8, 0.95) if n_fig == 1 else rng.uniform(0.6, 0.85))
        cx = size * (
            rng.uniform(0.35, 0.65) if n_fig == 1 else
            (rng.uniform(0.2, 0.4) if k == 0 else rng.uniform(0.6, 0.8)))
        top = rng.uniform(0.02, 0.98 - fh / size) * size
        skin = _colour(rng, 90, 230)
        cv2.circle(img, (int(cx), int(top + fh * 0.08)), int(fh * 0.06), skin, -1)
        cv2.rectangle(img, (int(cx - fh * 0.03), int(top + fh * 0.12)),
                      (int(cx + fh * 0.03), int(top + fh * 0.17)), skin, -1)
        colours = {}
        for cat, attrs, poly, pattern in _figure(rng, cx, top, fh):
            if cat == NECKLINE:
                colour, pattern = skin, PLAIN
            elif cat == SLEEVE:
                colour = colours.get('upper', _colour(rng))
            elif cat in (POCKET, SHOE):
                colour = _colour(rng, 10, 120)
            else:
                colour = _colour(rng)
                if cat in (TOP, JACKET, DRESS):
                    colours['upper'] = colour
            _paint(img, poly, colour, pattern, rng)
            if cat == JACKET:
                cv2.line(img, (int(cx), int(poly[0, 1] + fh * 0.1)), (int(cx), int(poly[2, 1])),
                         (20, 20, 20), max(1, int(fh / 150)))
            poly = np.clip(poly, 0, size - 1)
            if cat == SLEEVE:  # the sleeve is also part of its garment's outline
                upper = next(i for i in instances[::-1] if i[0] in (TOP, JACKET, DRESS))
                upper[2].append(poly)
            instances.append((cat, sorted(attrs), [poly]))
    return img, instances


def _annotation(ann_id, image_id, cat, attrs, polys, size):
    seg = [[round(float(v), 2) for v in poly.reshape(-1)] for poly in polys]
    rle = mask_utils.frPyObjects(seg, size, size)
    area = float(mask_utils.area(mask_utils.merge(rle)))
    pts = np.concatenate(polys)
    x0, y0 = pts.min(0)
    x1, y1 = pts.max(0)
    return dict(
        id=ann_id,
        image_id=image_id,
        category_id=int(cat),
        attribute_ids=[int(a) for a in attrs],
        segmentation=seg,
        area=area,
        bbox=[
            round(float(x0), 2),
            round(float(y0), 2),
            round(float(x1 - x0), 2),
            round(float(y1 - y0), 2)
        ],
        iscrowd=0)


def generate(out_dir, num_train=300, num_val=60, size=320, seed=0):
    """Write the synthetic dataset; returns ``{split: annotation file}``. Deterministic in seed."""
    files = {}
    ann_id = 1  # official ids start at 1 (an annotation id 0 would count as unmatched in FPEval)
    for split, count, offset in (('train', num_train, 0), ('val', num_val, 10_000_000)):
        img_dir, ann_name = SPLITS[split]
        os.makedirs(osp.join(out_dir, img_dir), exist_ok=True)
        os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
        images, anns = [], []
        for i in range(count):
            image_id = offset + i + 1
            img, instances = render_image(seed * 1_000_003 + image_id, size)
            name = f'{image_id:012d}.jpg'
            cv2.imwrite(osp.join(out_dir, img_dir, name), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
            images.append(
                dict(
                    id=image_id,
                    width=size,
                    height=size,
                    file_name=name,
                    license=0,
                    time_captured='',
                    original_url='',
                    isstatic=1,
                    kaggle_id=''))
            for cat, attrs, polys in instances:
                anns.append(_annotation(ann_id, image_id, cat, attrs, polys, size))
                ann_id += 1
        data = dict(
            info=dict(
                description='Synthetic Fashionpedia-format data generated by '
                'fashionpedia_plugin.datasets.synthetic',
                version=VERSION,
                year=2026,
                seed=seed),
            licenses=[dict(id=0, name='CC0', url='')],
            images=images,
            annotations=anns,
            categories=[dict(c) for c in taxonomy.CATEGORIES],
            attributes=[dict(a) for a in taxonomy.ATTRIBUTES])
        files[split] = osp.join(out_dir, 'annotations', ann_name)
        with open(files[split], 'w') as f:
            json.dump(data, f)
    return files
