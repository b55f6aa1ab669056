"""Data doctor: checks a Fashionpedia annotation file against its image folder.

Used by ``tools/analysis_tools/data_doctor.py``. Finds what breaks or silently degrades training
*before* it starts: missing images (and whether they sit one folder deeper, as after unzipping
``train2020.zip`` -> ``train/``), unreadable/corrupt images, width/height that disagree with the
JSON, unknown category/attribute ids, duplicate ids, degenerate masks/boxes, attributes on
categories that never carry any; then prints statistics.
"""
import os
import os.path as osp
import random
from collections import Counter

from PIL import Image
from tqdm import tqdm

from .. import taxonomy
from ..datasets.annotation_rules import image_rule
from ..datasets.validation import (Finding, annotation_statistics, check_annotations,
                                   nested_image_folder)


def _decode(path):
    """(width, height) as the loader decodes the file (mmcv, cv2 backend)."""
    import mmcv
    with open(path, 'rb') as f:
        img = mmcv.imfrombytes(f.read(), flag='color', backend='cv2')
    if img is None:
        raise ValueError('cv2 cannot decode it')
    return img.shape[1], img.shape[0]


def check_images(data, img_dir, mode='default', progress=True, data_root=None):
    """Error :class:`Finding` s of the image files, of kind missing image, nested folder,
    unreadable image or size mismatch. ``mode``: ``fast`` = existence only, ``default`` = the
    file header (PIL), ``full`` = decoded as the loader decodes it (mmcv/cv2)."""
    problems = []
    subdirs = sorted(d for d in os.listdir(img_dir) if osp.isdir(osp.join(img_dir, d))) \
        if osp.isdir(img_dir) else []
    nested = Counter()
    images = [img for img in data.get('images') or [] if image_rule(img) is None]
    for img in tqdm(images, desc='checking images', unit='img', disable=not progress):
        name = img['file_name']
        path = osp.join(img_dir, name)
        if not osp.isfile(path):
            sub = nested_image_folder(img_dir, name, subdirs)
            if sub is not None:
                nested[sub] += 1
            else:
                problems.append(
                    Finding('error', 'missing image',
                            f'image id {img.get("id")}: {path} not found'))
            continue
        if mode == 'fast':
            continue
        try:
            if mode == 'full':
                size = _decode(path)
            else:
                with Image.open(path) as im:
                    size = im.size
                    im.verify()
        except Exception as e:  # PIL and cv2 raise many types for broken files
            problems.append(
                Finding('error', 'unreadable image',
                        f'image id {img.get("id")}: {path} cannot be read ({e})'))
            continue
        if (img.get('width'), img.get('height')) != size:
            problems.append(
                Finding(
                    'error', 'size mismatch', f'image id {img.get("id")}: {path} is '
                    f'{size[0]}x{size[1]}, the JSON says '
                    f'{img.get("width")}x{img.get("height")}'))
    for sub, n in nested.items():
        problems.append(
            Finding(
                'error', 'nested folder', f'{n} image(s) are one folder deeper, in '
                f'{osp.join(img_dir, sub)}/: ' + prefix_hint(img_dir, sub, data_root)))
    return problems


def statistics_table(data):
    stats = annotation_statistics(data)
    per_img = stats['instances_per_image']
    lines = [
        f'images: {len(per_img)}   instances: {sum(stats["instances"].values())}   '
        f'instances/image: mean {sum(per_img) / max(len(per_img), 1):.2f}, '
        f'max {max(per_img, default=0)}, images without instances: '
        f'{sum(1 for c in per_img if c == 0)}',
        f'{"id":>3}  {"category":<42} {"instances":>9} {"with attrs":>10} {"attrs":>7}'
    ]
    for cid, name in enumerate(taxonomy.CLASSES):
        n = stats['instances'].get(cid, 0)  # (malformed category ids are not listed)
        if n:
            lines.append(f'{cid:>3}  {name[:42]:<42} {n:>9} '
                         f'{stats["instances_with_attributes"].get(cid, 0):>10} '
                         f'{stats["attributes"].get(cid, 0):>7}')
    return '\n'.join(lines)


def prefix_hint(img_dir, sub, data_root=None):
    """The config line that fixes a nested folder; ``data_prefix`` is joined to ``data_root``."""
    prefix = osp.join(img_dir, sub)
    if data_root:
        prefix = osp.relpath(prefix, data_root)
        return f"in the dataset config set data_prefix=dict(img='{prefix}/')"
    return (f"in the dataset config set data_prefix=dict(img='{prefix}/') with data_root='' "
            f'(or give --data-root to get the path relative to it)')


def diagnose(data, ann_file, img_dir, mode='default', progress=True, data_root=None):
    """All problems of an annotation file and its images: ``(findings, report)``, a list of
    :class:`Finding` and the annotation :class:`AnnotationReport` (usable and skipped counts,
    the same the dataset logs at start). ``mode``: see :func:`check_images`; ``full`` also
    decodes every compressed RLE."""
    rep = check_annotations(data, ann_file, full=mode == 'full')
    findings = rep.findings + check_images(data, img_dir, mode, progress, data_root)
    for reason, n in rep.skipped.items():
        findings.append(
            Finding('warning', 'degenerate annotation',
                    f'{n} annotation(s) will be skipped: {reason}'))
    return findings, rep


def make_subset(data, num_images, shuffle=False, seed=0):
    """The first (or ``shuffle``: seeded random) ``num_images`` images with their annotations."""
    images = list(data['images'])
    if shuffle:
        random.Random(seed).shuffle(images)
    images = images[:num_images]
    keep = {img['id'] for img in images}
    out = {k: v for k, v in data.items() if k not in ('images', 'annotations')}
    out['images'] = images
    out['annotations'] = [a for a in data['annotations'] if a.get('image_id') in keep]
    return out
