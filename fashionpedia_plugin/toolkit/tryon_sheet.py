"""``tryon_sheet.py``: pictures of an export for a look before handing a folder over (and for the
README): one row per consumer layout, the files as its loader opens them (:func:`write_sheet`),
or a photo's overview: photo, overlay, parse map and each merged garment (:func:`write_overview`).
"""
import json
import os.path as osp

import cv2
import numpy as np
from PIL import Image

from ..tryon.layouts import ROOTS

TILE_H = 256  # px per tile (1024 / 4)


def _palette_rgb(path):
    """A label map as colours: its own palette (mode P) or the CIHP palette for ids (mode L)."""
    im = Image.open(path)
    if im.mode != 'P':
        from ..tryon.labels import load_tryon_labels
        lab = im.convert('L')
        im = Image.frombytes('P', lab.size, lab.tobytes())
        im.putpalette(load_tryon_labels().palette_bytes())
    return cv2.cvtColor(np.array(im.convert('RGB')), cv2.COLOR_RGB2BGR)


def _tile(img, title):
    h, w = img.shape[:2]
    tile = cv2.resize(img, (int(round(w * TILE_H / h)), TILE_H), interpolation=cv2.INTER_AREA)
    if tile.ndim == 2:
        tile = cv2.cvtColor(tile, cv2.COLOR_GRAY2BGR)
    band = np.full((22, tile.shape[1], 3), 30, np.uint8)
    cv2.putText(band, title, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1,
                cv2.LINE_AA)
    return np.vstack([band, tile])


def consumer_files(out_dir, fmt, name, category='upper_body'):
    """``[(title, path, kind)]`` of one photo in one layout, as its loader names them."""
    root = osp.join(out_dir, ROOTS[fmt])
    n = f'{name}_00'
    if fmt == 'vitonhd':
        d = osp.join(root, 'test')
        return [('image', f'{d}/image/{n}.jpg', 'img'),
                ('image-parse', f'{d}/image-parse/{n}.png', 'labels'),
                ('cloth', f'{d}/cloth/{n}.jpg', 'img'),
                ('cloth-mask', f'{d}/cloth-mask/{n}.jpg', 'img')]
    if fmt == 'idm-vton':
        d = osp.join(root, 'test')
        return [('image', f'{d}/image/{n}.jpg', 'img'), ('cloth', f'{d}/cloth/{n}.jpg', 'img'),
                ('agnostic-mask', f'{d}/agnostic-mask/{n}_mask.png', 'img')]
    d = osp.join(root, category)
    return [('images/_0', f'{d}/images/{name}_0.jpg', 'img'),
            ('images/_1', f'{d}/images/{name}_1.jpg', 'img'),
            ('label_maps/_4', f'{d}/label_maps/{name}_4.png', 'labels')]


def write_sheet(out_dir,
                name,
                path,
                formats=('vitonhd', 'idm-vton', 'dresscode'),
                category='upper_body'):
    """One row per layout present, its files side by side; returns the rows written."""
    rows = []
    for fmt in formats:
        files = consumer_files(out_dir, fmt, name, category)
        if not all(osp.isfile(p) for _, p, _ in files):
            continue
        tiles = [
            _tile(_palette_rgb(p) if kind == 'labels' else cv2.imread(p), f'{fmt}: {title}')
            for title, p, kind in files
        ]
        rows.append(np.hstack(tiles))
    if not rows:
        raise FileNotFoundError(f'no consumer layout of {name!r} under {out_dir}')
    width = max(r.shape[1] for r in rows)
    sheet = np.vstack(
        [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows])
    _write(path, sheet)
    return len(rows)


def _write(path, img):
    if not cv2.imwrite(path, img):  # cv2 returns False (no exception) when it writes nothing
        raise FileNotFoundError(f'{path}: could not be written')


def write_overview(out_dir, stem, path):
    """Photo, instance overlay, parse map and each merged garment's cut-out (on white) of one
    photo, from its ``instances``, ``parse`` and grouping files."""
    rec = json.load(open(osp.join(out_dir, 'garments', f'{stem}.json')))
    tiles = [_tile(cv2.imread(rec['image_file']), 'photo')]
    overlay = osp.join(out_dir, stem, 'overlay.png')
    if osp.isfile(overlay):
        tiles.append(_tile(cv2.imread(overlay), 'instances'))
    parse = osp.join(out_dir, 'parse', f'{stem}.png')
    if osp.isfile(parse):
        tiles.append(_tile(_palette_rgb(parse), 'parse (CIHP ids)'))
    for g in rec['garments']:
        if not g.get('cutout_file'):
            continue
        rgba = cv2.imread(osp.join(out_dir, g['cutout_file']), cv2.IMREAD_UNCHANGED)
        alpha = rgba[..., 3:4].astype(np.float32) / 255
        white = (rgba[..., :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)
        parts = ', '.join(sorted({p['class_name'] for p in g.get('parts', [])})) or 'no parts'
        tiles.append(_tile(white, f'{g["class_name"].split(",")[0]} + {parts}'))
    _write(path, np.hstack(tiles))
    return len(tiles)
