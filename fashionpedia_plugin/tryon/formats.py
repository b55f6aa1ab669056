"""Grouped garments written in the layouts try-on models read: ``parse``, ``vitonhd``,
``dresscode`` (and the grouping itself, ``garments/``). Label ids and their sources:
``tryon_labels.json``; captions: :mod:`.tags`.

Layouts, relative to the output folder (NAME = the photo's file name without extension):

- ``garments/NAME.json`` (the grouping, :func:`.garments.group_garments`) and
  ``garments/NAME/NNN_<class>.png`` (RGBA cut-out of each merged garment);
- ``parse/NAME.png``: CIHP label map, palette PNG (mode 'P', the CIHP_PGN palette);
- ``vitonhd/``: ``image/NAME.jpg`` (the photo), ``image-parse-v3/NAME.png`` (= the parse map),
  ``cloth/NAME.jpg`` and ``cloth-mask/NAME.jpg`` (the best garment of the requested category),
  ``agnostic-mask/NAME_mask.png`` (all garments of that category, dilated; IDM-VTON's name),
  ``test_pairs.txt``;
- ``dresscode/{upper_body,lower_body,dresses}/``: ``images/NAME_0.jpg`` (the photo),
  ``images/NAME_1.jpg`` (the garment), ``masks/NAME_1.png`` (its mask), ``label_maps/NAME_4.png``
  (DressCode ids), ``test_pairs_paired.txt``.

Cloth images (our choice): the garment's box plus 5 % on each side, widened or heightened to 3:4
(VITON-HD and DressCode images are 768 x 1024) and not resized (try-on loaders resize); pixels
outside the garment mask and outside the photo are white, as in VITON-HD's cloth images. The
cloth mask has the same crop and size. It is a JPEG as VITON-HD ships it (``cloth-mask/*.jpg``):
written at quality 100, so values stay within 1 of 0/255 and VITON-HD's own ``>= 128``
threshold gives the mask exactly; ``dresscode/*/masks`` (DressCode ships none) are lossless PNG.
Every photo is treated as a person photo (Fashionpedia's domain): the parse map and photo copy are
written for each image; cloth, cloth mask and agnostic mask only when a garment of the category
was found.
"""
import json
import os
import os.path as osp

import cv2
import numpy as np
from PIL import Image

from .instances import short_name
from .labels import TRYON_CATEGORIES

CLOTH_ASPECT = 3 / 4  # width / height of VITON-HD and DressCode images (768 x 1024)
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


def write_garments(out_dir, stem, path, img, groups):
    """``garments/NAME.json`` and one RGBA cut-out per merged garment; returns
    ``(record, files)``."""
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
    rel = f'garments/{stem}.json'
    write_file(out_dir, rel, write_json(record))
    return record, files + [rel]


def write_parse(out_dir, stem, parse, labels):
    """``parse/NAME.png``: the CIHP label map (:func:`label_map` with ``labels.to_cihp``)."""
    rel = f'parse/{stem}.png'
    return [write_file(out_dir, rel, lambda p: save_palette_png(parse, p, labels.palette_bytes()))]


def write_vitonhd(out_dir,
                  stem,
                  img,
                  groups,
                  parse,
                  labels,
                  category='upper_body',
                  agnostic_margin=DEFAULT_AGNOSTIC_MARGIN):
    """The VITON-HD test layout of one photo (module docstring); returns the files written."""
    if category not in TRYON_CATEGORIES:
        raise ValueError(f'unknown category {category!r}; one of {TRYON_CATEGORIES}')
    d = 'vitonhd'
    files = [
        write_file(out_dir, f'{d}/image/{stem}.jpg', _jpg(img)),
        write_file(out_dir, f'{d}/image-parse-v3/{stem}.png',
                   lambda p: save_palette_png(parse, p, labels.palette_bytes()))
    ]
    best = groups.best(category)
    if best is None:
        return files
    cloth, cmask = cloth_crop(img, groups.masks[best])
    files.append(write_file(out_dir, f'{d}/cloth/{stem}.jpg', _jpg(cloth)))
    files.append(write_file(out_dir, f'{d}/cloth-mask/{stem}.jpg', _jpg(cmask, 100)))
    region = np.zeros(img.shape[:2], np.uint8)
    for g, m in zip(groups.garments, groups.masks):
        if g['category'] == category:
            region[m] = 255
    if agnostic_margin > 0:
        size = 2 * int(agnostic_margin) + 1
        region = cv2.dilate(region, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    files.append(write_file(out_dir, f'{d}/agnostic-mask/{stem}_mask.png', _png(region)))
    return files


def write_dresscode(out_dir, stem, img, groups, labels):
    """The DressCode layout of one photo, in the folder of each category that has a garment:
    the photo, the category's best garment and its mask, and the DressCode label map (mode 'L',
    the ids as DressCode's loader reads them)."""
    files = []
    dmap = label_map(groups, img.shape[:2], labels.to_dresscode)
    for cat in TRYON_CATEGORIES:
        best = groups.best(cat)
        if best is None:
            continue
        cloth, cmask = cloth_crop(img, groups.masks[best])
        d = f'dresscode/{cat}'
        files += [
            write_file(out_dir, f'{d}/images/{stem}_0.jpg', _jpg(img)),
            write_file(out_dir, f'{d}/images/{stem}_1.jpg', _jpg(cloth)),
            write_file(out_dir, f'{d}/masks/{stem}_1.png', _png(cmask)),
            write_file(out_dir, f'{d}/label_maps/{stem}_4.png',
                       lambda p: Image.fromarray(dmap).save(p))  # uint8 2-D: mode 'L'
        ]
    return files


def write_pair_lists(out_dir):
    """The pair lists the datasets' loaders start from, rebuilt from what the folders hold
    (so runs resumed or run in parts list every image): ``vitonhd/test_pairs.txt`` (``NAME.jpg
    NAME.jpg``, paired) and ``dresscode/<category>/test_pairs_paired.txt``
    (``NAME_0.jpg NAME_1.jpg``). Returns the files written."""
    written = []
    cloth = osp.join(out_dir, 'vitonhd', 'cloth')
    if osp.isdir(cloth):
        names = sorted(f for f in os.listdir(cloth) if f.endswith('.jpg'))
        written.append(
            write_file(out_dir, 'vitonhd/test_pairs.txt', _lines(f'{n} {n}' for n in names)))
    for cat in TRYON_CATEGORIES:
        d = osp.join(out_dir, 'dresscode', cat, 'images')
        if osp.isdir(d):
            names = sorted(f for f in os.listdir(d) if f.endswith('_1.jpg'))
            pairs = (f'{n[:-6]}_0.jpg {n}' for n in names)
            written.append(
                write_file(out_dir, f'dresscode/{cat}/test_pairs_paired.txt', _lines(pairs)))
    return written


def _lines(lines):

    def write(path):
        with open(path, 'w') as f:
            f.writelines(f'{ln}\n' for ln in lines)

    return write
