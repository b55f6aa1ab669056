"""The try-on layouts, each written as its consumer's own loader reads it.

One layout per consumer; every path, mode, size and label id below follows the loader cited
(read at the commits in brackets), and ``tests/test_tryon_consumers.py`` walks each loader's
reading logic over an export.

``vitonhd`` -- shadow2496/VITON-HD ``datasets.py`` ``VITONDataset`` [1fa4037], ``test.py``
  (``--dataset_dir D --dataset_mode test --dataset_list test_pairs.txt``): ``D/test_pairs.txt``
  (``img_name c_name``), ``D/test/image/<img_name>`` (RGB), ``D/test/image-parse/<img_name
  .replace('.jpg', '.png')>`` (ids 0-19 indexing 20 channels: CIHP; mode P),
  ``D/test/cloth/<c_name>`` (RGB), ``D/test/cloth-mask/<c_name>`` (one channel, ``>= 128``);
  everything resized to width 768 and then needed at exactly 768 x 1024.
``idm-vton`` -- yisol/IDM-VTON ``inference.py`` ``VitonHDTestDataset`` [18863ad]
  (``--data_dir D``): ``D/test_pairs.txt``, ``D/test/image/<im_name>``, ``D/test/cloth/<c_name>``
  (not resized: 768 x 1024 RGB, batched by 2 in ``inference.sh``; paired mode reads the cloth by
  ``im_name``), ``D/test/agnostic-mask/<im_name.replace('.jpg', '_mask.png')>`` (channel 0,
  white = repaint), ``D/test/vitonhd_test_tagged.json`` (captions by cloth ``file_name``).
``dresscode`` -- aimagelab/dress-code ``data/dataset.py`` ``Dataset`` [063e827],
  ``data/labelmap.py`` [a3d6a34]: ``D/<category>/test_pairs_{paired,unpaired}.txt``,
  ``images/<im_name>`` (person, ``*_0.jpg``) and ``images/<c_name>`` (cloth, ``*_1.jpg``),
  ``label_maps/<im_name.replace('_0.jpg', '_4.png')>`` (ATR ids 0-17: the garment is 4 for
  upper_body, **6** for lower_body, 7 for dresses; we write a skirt of lower_body as 6, the id the
  loader takes as the garment).

Names (our choice): a photo ``NAME`` is exported as ``SAFE = NAME`` with every character other
than letters, digits and ``-`` replaced by ``-`` (DressCode's ``replace("_0", "_5")`` rewrites
*every* ``_0`` of a name, VITON-HD's ``replace('.jpg', ...)`` every ``.jpg``); VITON-HD and
IDM-VTON files are ``SAFE_00.jpg`` (their dataset's ``NNNNN_00.jpg`` form, so that VITON-HD's
output name ``img_name.split('_')[0] + '_' + c_name`` stays unique), DressCode's
``SAFE_0.jpg``/``SAFE_1.jpg``/``SAFE_4.png``. The garment JSON records ``SAFE`` per photo.
"""
import os
import os.path as osp
import re
from dataclasses import dataclass

import cv2
import numpy as np

from .formats import cloth_crop, lines_writer, save_palette_png, write_file
from .geometry import Letterbox

FORMAT_VERSION = 2  # of the layouts and the garment JSON; --resume refuses another

# What each consumer also opens, that a segmentation model cannot produce: (path, what, usually
# produced by). Reported once per run.
MISSING = {
    'vitonhd': [('test/openpose-img/SAFE_00_rendered.png', 'OpenPose pose rendering',
                 'OpenPose (BODY_25) --write_images'),
                ('test/openpose-json/SAFE_00_keypoints.json', 'OpenPose keypoints in pixels of '
                 'the 768 x 1024 image (BODY_25 order: the loader reads the hips as 9 and 12)',
                 'OpenPose --write_json')],
    'idm-vton': [('test/image-densepose/SAFE_00.jpg', 'DensePose rendering, RGB 768 x 1024 (not '
                  'resized by the loader)', 'detectron2 DensePose')],
    'dresscode': [('CATEGORY/keypoints/SAFE_2.json', '18 keypoints (x, y, score, id) in a '
                   '384 x 512 frame', 'OpenPose (COCO-18)'),
                  ('CATEGORY/skeletons/SAFE_5.jpg', 'rendered skeleton', 'OpenPose'),
                  ('CATEGORY/dense/SAFE_5_uv.npz, dense/SAFE_5.png', 'DensePose UV and labels',
                   'detectron2 DensePose')],
}
ROOTS = {'vitonhd': 'vitonhd', 'idm-vton': 'idm-vton', 'dresscode': 'dresscode'}
DRESSCODE_GARMENT = {'upper_body': 4, 'lower_body': 6, 'dresses': 7}  # data/dataset.py


def export_name(stem):
    """The file-name stem a photo gets in the consumer layouts (module docstring)."""
    return re.sub(r'[^A-Za-z0-9-]', '-', stem) or 'photo'


@dataclass
class Photo:
    """One photo as the layouts need it: ``img`` BGR, ``cihp``/``atr`` label maps of the photo
    (garments from our model, body regions from ``--human-parse`` when given), ``cloth``: per
    try-on category the index of the garment exported as the cloth (None: none exported)."""
    stem: str
    name: str
    img: np.ndarray
    groups: object
    cihp: np.ndarray
    atr: np.ndarray
    cloth: dict
    box: Letterbox

    def photo(self):
        return self.box.apply(self.img, pad=255)

    def cloth_files(self, category):
        """``(cloth BGR, mask 0/255)`` of the category's cloth at the consumer size, or None."""
        k = self.cloth.get(category)
        if k is None:
            return None
        cloth, cmask = cloth_crop(self.img, self.groups.masks[k])
        box = Letterbox.fit((cloth.shape[1], cloth.shape[0]), self.box.size)
        return box.apply(cloth, pad=255), box.apply(cmask, nearest=True)


def _jpg(arr, quality=95):
    return lambda p: cv2.imwrite(p, arr, [cv2.IMWRITE_JPEG_QUALITY, quality])


def _png(arr):
    return lambda p: cv2.imwrite(p, arr)


def write_vitonhd(out_dir, p, labels, category):
    """VITON-HD's test folder for photo ``p`` (module docstring); returns the files written."""
    d, n = f'{ROOTS["vitonhd"]}/test', f'{p.name}_00'
    parse = p.box.apply(p.cihp, nearest=True)
    files = [
        write_file(out_dir, f'{d}/image/{n}.jpg', _jpg(p.photo())),
        write_file(out_dir, f'{d}/image-parse/{n}.png',
                   lambda f: save_palette_png(parse, f, labels.palette_bytes()))
    ]
    cloth = p.cloth_files(category)
    if cloth is not None:
        # the mask as a JPEG, as the dataset ships it, at quality 100: within 1 of 0/255, so
        # the loader's >= 128 gives the mask exactly
        files += [
            write_file(out_dir, f'{d}/cloth/{n}.jpg', _jpg(cloth[0])),
            write_file(out_dir, f'{d}/cloth-mask/{n}.jpg', _jpg(cloth[1], 100))
        ]
    return files


def agnostic_region(p, category, margin):
    """Every garment of ``category``, dilated by ``margin`` px, at the consumer size (0/255)."""
    region = np.zeros(p.img.shape[:2], np.uint8)
    for g, m in zip(p.groups.garments, p.groups.masks):
        if g['category'] == category:
            region[m] = 255
    if margin > 0:
        size = 2 * int(margin) + 1
        region = cv2.dilate(region, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    return p.box.apply(region, nearest=True)


def write_idm_vton(out_dir, p, labels, category, agnostic_margin):
    """IDM-VTON's ``--data_dir`` for photo ``p``: photo, cloth (under the photo's name, so that
    paired and unpaired mode both find it) and agnostic mask, all 768 x 1024."""
    cloth = p.cloth_files(category)
    if cloth is None:  # IDM-VTON opens the cloth and mask of every listed photo
        return []
    d, n = f'{ROOTS["idm-vton"]}/test', f'{p.name}_00'
    return [
        write_file(out_dir, f'{d}/image/{n}.jpg', _jpg(p.photo())),
        write_file(out_dir, f'{d}/cloth/{n}.jpg', _jpg(cloth[0])),
        write_file(out_dir, f'{d}/agnostic-mask/{n}_mask.png',
                   _png(agnostic_region(p, category, agnostic_margin)))
    ]


def write_dresscode(out_dir, p, labels):
    """DressCode's folder of each category with an exported cloth: person, cloth, its mask
    (``masks/``, an extra: the loader reads none) and the ATR label map with the category's
    garment written as the id the loader takes for it."""
    files = []
    for cat, garment_id in DRESSCODE_GARMENT.items():
        cloth = p.cloth_files(cat)
        if cloth is None:
            continue
        atr = p.atr.copy()
        atr[p.groups.masks[p.cloth[cat]]] = garment_id
        atr = p.box.apply(atr, nearest=True)
        d, n = f'{ROOTS["dresscode"]}/{cat}', p.name
        files += [
            write_file(out_dir, f'{d}/images/{n}_0.jpg', _jpg(p.photo())),
            write_file(out_dir, f'{d}/images/{n}_1.jpg', _jpg(cloth[0])),
            write_file(out_dir, f'{d}/masks/{n}_1.png', _png(cloth[1])),
            write_file(out_dir, f'{d}/label_maps/{n}_4.png', _png(atr)),  # 2-D uint8: mode L
        ]
    return files


def write_pair_lists(out_dir):
    """Each consumer's pairs files, rebuilt from what the folders hold (runs resumed or run in
    parts list every photo). Paired: each photo with its own garment; DressCode's unpaired:
    each photo with the next photo's garment of the same category (the only garments there
    are). Returns the files written."""
    written = []
    for fmt, sub in (('vitonhd', 'test/cloth'), ('idm-vton', 'test/cloth')):
        d = osp.join(out_dir, ROOTS[fmt], sub)
        if osp.isdir(d):
            names = sorted(f for f in os.listdir(d) if f.endswith('_00.jpg'))
            written.append(
                write_file(out_dir, f'{ROOTS[fmt]}/test_pairs.txt',
                           lines_writer(f'{n} {n}' for n in names)))
    for cat in DRESSCODE_GARMENT:
        d = osp.join(out_dir, ROOTS['dresscode'], cat, 'images')
        if not osp.isdir(d):
            continue
        names = sorted(f[:-len('_1.jpg')] for f in os.listdir(d) if f.endswith('_1.jpg'))
        root = f'{ROOTS["dresscode"]}/{cat}'
        written.append(
            write_file(out_dir, f'{root}/test_pairs_paired.txt',
                       lines_writer(f'{n}_0.jpg {n}_1.jpg' for n in names)))
        other = names[1:] + names[:1]
        written.append(
            write_file(out_dir, f'{root}/test_pairs_unpaired.txt',
                       lines_writer(f'{n}_0.jpg {o}_1.jpg' for n, o in zip(names, other))))
    return written
