"""What every try-on layout shares: file writing, label maps, cloth crops, the grouping JSON.

- ``garments/NAME.json`` (the grouping, :func:`.garments.group_garments`, + the export's
  name, geometry and provenance) and ``garments/NAME/NNN_<class>.png`` (RGBA cut-out of each
  merged garment);
- ``parse/NAME.png``: CIHP label map of the photo, palette PNG (mode 'P', the CIHP_PGN palette).

The consumer layouts (VITON-HD, IDM-VTON, DressCode) are :mod:`.layouts`.

Cloth crops (our choice): the garment's box plus 5 % on each side, widened or heightened to 3:4
(the consumers' 768 x 1024); pixels outside the garment mask and outside the photo are white, as
in VITON-HD's cloth images; the layouts then bring the crop to 768 x 1024 (:mod:`.geometry`).
"""
import json
import os
import os.path as osp

import cv2
import numpy as np
from PIL import Image

from .instances import short_name

CLOTH_ASPECT = 3 / 4  # width / height of VITON-HD, IDM-VTON and DressCode images (768 x 1024)
CLOTH_MARGIN = 0.05  # of the garment box, on each side (our choice)
DEFAULT_AGNOSTIC_MARGIN = 10  # px (our choice; --agnostic-margin)


def write_file(out_dir, rel, writer):
    """``writer(path)`` for ``out_dir/rel`` (folders made); returns ``rel``. OpenCV reports a
    failed write by returning False: raised here, so a full disk is an error, not a gap."""
    path = osp.join(out_dir, rel)
    os.makedirs(osp.dirname(path), exist_ok=True)
    if writer(path) is False:
        raise OSError(f'cannot write {path}')
    return rel


def _jpg(arr, quality=95):
    return lambda p: cv2.imwrite(p, arr, [cv2.IMWRITE_JPEG_QUALITY, quality])


def _png(arr):
    return lambda p: cv2.imwrite(p, arr)


def write_json(obj):
    """A writer for :func:`write_file`: ``obj`` as indented JSON."""

    def write(path):
        with open(path, 'w') as f:
            json.dump(obj, f, indent=1)

    return write


def label_map(groups, shape, table):
    """Label ids (uint8, ``shape``) of the grouped instances: each merged garment, accessory
    and unattached part painted with ``table[class_name]`` (classes not in the table are not
    painted), in order of score, so the higher score wins where they overlap."""
    out = np.zeros(shape, np.uint8)
    for _, mask, name in sorted(groups.layers(), key=lambda t: t[0]):
        label = table.get(name, 0)
        if label:
            out[mask] = label
    return out


def save_palette_png(labels, path, palette):
    """``labels`` (uint8 ids) as a palette PNG (mode 'P'): the ids are the pixel values, as
    CIHP/VITON-HD parse maps are stored."""
    labels = np.ascontiguousarray(labels, np.uint8)
    im = Image.frombytes('P', labels.shape[::-1], labels.tobytes())
    im.putpalette(palette)
    im.save(path)


def cloth_crop(img, mask, aspect=CLOTH_ASPECT, margin=CLOTH_MARGIN):
    """``(cloth BGR, mask 0/255)`` of one garment, same size: see the module docstring."""
    ys, xs = np.nonzero(mask)
    x1, y1, x2, y2 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
    w, h = (x2 - x1) * (1 + 2 * margin), (y2 - y1) * (1 + 2 * margin)
    w, h = max(w, h * aspect), max(h, w / aspect)
    cw, ch = int(round(w)), int(round(h))
    ox, oy = int(round((x1 + x2 - cw) / 2)), int(round((y1 + y2 - ch) / 2))
    cloth = np.full((ch, cw, 3), 255, np.uint8)
    cmask = np.zeros((ch, cw), np.uint8)
    sx1, sy1 = max(ox, 0), max(oy, 0)
    sx2, sy2 = min(ox + cw, img.shape[1]), min(oy + ch, img.shape[0])
    m = mask[sy1:sy2, sx1:sx2]
    dst = (slice(sy1 - oy, sy2 - oy), slice(sx1 - ox, sx2 - ox))
    cloth[dst][m] = img[sy1:sy2, sx1:sx2][m]
    cmask[dst][m] = 255
    return cloth, cmask


def write_garments(out_dir, stem, path, img, groups, extra=None):
    """``garments/NAME.json`` and one RGBA cut-out per merged garment; returns
    ``(record, files)``. ``extra``: more keys of the record (the export's name, geometry,
    provenance: :mod:`.batch`)."""
    files, garments = [], []
    for k, (g, m) in enumerate(zip(groups.garments, groups.masks)):
        g = dict(g, cutout_file=None)
        if g['bbox_xyxy']:
            x1, y1, x2, y2 = g['bbox_xyxy']
            rgba = np.dstack([img[y1:y2, x1:x2], m[y1:y2, x1:x2].astype(np.uint8) * 255])
            rel = f'garments/{stem}/{k:03d}_{short_name(g["class_name"])}.png'
            g['cutout_file'] = write_file(out_dir, rel, _png(rgba))
            files.append(rel)
        garments.append(g)
    record = dict(
        image=path,
        image_file=osp.abspath(path),
        stem=stem,
        width=img.shape[1],
        height=img.shape[0])
    record.update(groups.to_json(), garments=garments)
    record.update(extra or {})
    rel = f'garments/{stem}.json'
    write_file(out_dir, rel, write_json(record))
    return record, files + [rel]


def write_parse(out_dir, stem, parse, labels):
    """``parse/NAME.png``: the CIHP label map (:func:`label_map` with ``labels.to_cihp``)."""
    rel = f'parse/{stem}.png'
    return [write_file(out_dir, rel, lambda p: save_palette_png(parse, p, labels.palette_bytes()))]


def lines_writer(lines):
    """A writer for :func:`write_file`: one line per item."""

    def write(path):
        with open(path, 'w') as f:
            f.writelines(f'{ln}\n' for ln in lines)

    return write
