"""Inference for the virtual-fitting hand-off: masks, RGBA cut-outs and a JSON per image.

For each image ``<out>/<stem>/`` receives ``overlay.png`` (masks, boxes, labels), ``masks/*.png``
(one 0/255 mask per instance), ``cutouts/*.png`` (RGBA garment crops, alpha = mask) and
``<stem>.json`` (class, score, box, files, attributes with names and scores): the ``instances``
format of ``tools/infer.py``. The prediction comes from ``FashionpediaInferencer`` (one batched
path for the tool and Python callers); :func:`decode_prediction` turns it into the instance
records that :mod:`.garments` groups and :mod:`.formats` writes.
"""
import glob
import json
import os
import os.path as osp

import cv2
import numpy as np

from .. import taxonomy

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


def collect_images(spec):
    """A file, a folder (its images, sorted), a glob pattern or a list file (``.txt``: one
    path per line, relative paths relative to the list file; blank lines and ``#`` comments
    skipped) -> list of image paths. Paths of a list file are not checked here: a missing one
    fails alone when it is read; but a list whose relative paths all miss is refused (they were
    written relative to another folder, e.g. the current one, which the error names)."""
    if osp.isfile(spec) and spec.lower().endswith('.txt'):
        base = osp.dirname(osp.abspath(spec))
        with open(spec) as f:
            lines = [ln.strip() for ln in f]
        listed = [ln for ln in lines if ln and not ln.startswith('#')]
        paths = [ln if osp.isabs(ln) else osp.join(base, ln) for ln in listed]
        relative = [ln for ln in listed if not osp.isabs(ln)]
        if relative and not any(osp.isfile(osp.join(base, ln)) for ln in relative):
            here = sum(osp.isfile(ln) for ln in relative)
            raise FileNotFoundError(
                f'{spec}: none of its {len(relative)} relative paths is a file relative to the '
                f'list\'s folder {base} (e.g. {osp.join(base, relative[0])}); paths in a list '
                'are relative to the list file, or absolute' +
                (f'; {here} of them are files relative to the current folder {os.getcwd()}: '
                 'write them relative to the list, absolute, or move the list' if here else ''))
    elif osp.isdir(spec):
        paths = sorted(p for p in glob.glob(osp.join(spec, '*')) if p.lower().endswith(IMAGE_EXTS))
    elif osp.isfile(spec):
        paths = [spec]
    else:
        paths = sorted(p for p in glob.glob(spec) if p.lower().endswith(IMAGE_EXTS))
    if not paths:
        raise FileNotFoundError(
            f'no images found at {spec!r} (a file, a folder, a glob or a .txt list)')
    return paths


def parse_classes(names, class_names=taxonomy.CLASSES):
    """``['garments']`` / ids / exact names / unique name prefixes -> set of label indices."""
    if not names:
        return None
    out = set()
    for n in names:
        if n == 'garments':
            out |= set(taxonomy.GARMENTS)
        elif n.isdigit():
            if int(n) >= len(class_names):
                raise ValueError(f'class id {n} out of range 0..{len(class_names) - 1}')
            out.add(int(n))
        else:
            hits = [i for i, c in enumerate(class_names) if c == n or c.split(',')[0] == n]
            if not hits:
                raise ValueError(f'unknown class {n!r}; e.g. {class_names[0]!r}, "garments", 6')
            out.update(hits)
    return out


def _colour(label):
    return taxonomy.palette()[label % len(taxonomy.CLASSES)][::-1]  # BGR


FONT, FONT_SCALE, FONT_THICKNESS = cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1


def place_labels(labels, shape):
    """``[(text, x, y)]``: each label above its box's corner, moved down past labels already
    placed that it would overlap (our simple stacking; enough for a few garments per torso).
    ``labels``: ``[(text, x1, y1, colour)]`` in drawing order."""
    h, w = shape
    placed, out = [], []
    for text, x, y, _ in labels:
        (tw, th), base = cv2.getTextSize(text, FONT, FONT_SCALE, FONT_THICKNESS)
        bw, bh = tw + 4, th + base + 4
        x = int(min(max(x, 0), max(w - bw, 0)))
        y = int(min(max(y - bh, 0), max(h - bh, 0)))
        while any(x < px + pw and px < x + bw and y < py + ph and py < y + bh
                  for px, py, pw, ph in placed) and y + 2 * bh <= h:
            y += bh
        placed.append((x, y, bw, bh))
        out.append((text, x, y))
    return out


def draw_label(img, text, x, y):
    """White text on a dark box: legible on any garment colour."""
    (tw, th), base = cv2.getTextSize(text, FONT, FONT_SCALE, FONT_THICKNESS)
    cv2.rectangle(img, (x, y), (x + tw + 4, y + th + base + 4), (32, 32, 32), -1)
    cv2.putText(img, text, (x + 2, y + th + 2), FONT, FONT_SCALE, (255, 255, 255), FONT_THICKNESS,
                cv2.LINE_AA)


def decode_prediction(pred, class_names=None, score_thr=0.3, keep_classes=None, attr_decoder=None):
    """A prediction (``DetDataSample`` or its ``pred_instances``) -> ``(instances, masks)``:
    the instance records of ``<stem>.json`` without file names (``id``, ``class_id``,
    ``class_name``, ``score``, ``bbox_xyxy``, ``attributes``) and their masks (N x H x W bool,
    None for a model without masks). Keeps scores >= ``score_thr`` and ``keep_classes`` (label
    indices). ``attr_decoder``: the inferencer's ``attr_decoder`` (what ``tools/test.py``
    decodes with); default ``AttributeDecoder()`` (threshold 0.05, no prior)."""
    pred = getattr(pred, 'pred_instances', pred)
    names = class_names or taxonomy.CLASSES
    keep = (pred.scores >= score_thr).cpu().numpy()
    if keep_classes is not None:
        keep &= np.isin(pred.labels.cpu().numpy(), sorted(keep_classes))
    pred = pred[np.flatnonzero(keep)]
    has_attrs = 'attr_scores' in pred
    if has_attrs:
        if attr_decoder is None:
            from ..models.task_modules import AttributeDecoder
            attr_decoder = AttributeDecoder()
        attr_scores = pred.attr_scores.cpu().numpy()
        attr_keep = attr_decoder.keep_mask(
            attr_scores, [taxonomy.CLASSES.index(names[int(c)]) for c in pred.labels])
    instances = []
    for k in range(len(pred)):
        label = int(pred.labels[k])
        rec = dict(
            id=k,
            class_id=label,
            class_name=names[label],
            score=round(float(pred.scores[k]), 4),
            bbox_xyxy=[round(float(v), 1) for v in pred.bboxes[k]])
        if has_attrs:
            rec['attributes'] = [
                dict(
                    id=taxonomy.ATTRIBUTE_IDS[j],
                    name=taxonomy.ATTRIBUTE_NAMES[j],
                    supercategory=taxonomy.ATTRIBUTE_SUPERCATEGORIES[j],
                    score=round(float(attr_scores[k, j]), 4)) for j in np.flatnonzero(attr_keep[k])
            ]
        instances.append(rec)
    masks = pred.masks.cpu().numpy().astype(bool) if 'masks' in pred else None
    return instances, masks


def short_name(class_name):
    """File-name form of a class: 'top, t-shirt, sweatshirt' -> 'top'."""
    return class_name.split(',')[0].replace(' ', '-')


def write_instances(img, path, out_dir, instances, masks):
    """The ``instances`` files of one image under ``<out_dir>/<stem>/``: ``overlay.png``,
    ``masks/NNN_<class>.png`` (0/255), ``cutouts/NNN_<class>.png`` (RGBA, alpha = mask) and
    ``<stem>.json``; returns the JSON record. ``img``: the photo (BGR), ``instances`` and
    ``masks``: :func:`decode_prediction`."""
    stem = osp.splitext(osp.basename(path))[0]
    d = osp.join(out_dir, stem)
    os.makedirs(osp.join(d, 'masks'), exist_ok=True)
    os.makedirs(osp.join(d, 'cutouts'), exist_ok=True)
    overlay = img.copy()
    records, labels = [], []
    for k, inst in enumerate(instances):
        label = inst['class_id']
        short = short_name(inst['class_name'])
        x1, y1, x2, y2 = inst['bbox_xyxy']
        rec = {key: inst[key] for key in ('id', 'class_id', 'class_name', 'score', 'bbox_xyxy')}
        if masks is not None:
            m = masks[k]
            mask_file = osp.join('masks', f'{k:03d}_{short}.png')
            cv2.imwrite(osp.join(d, mask_file), m.astype(np.uint8) * 255)
            ys, xs = np.nonzero(m)
            if len(xs):
                cx1, cy1, cx2, cy2 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
                rgba = np.dstack([img[cy1:cy2, cx1:cx2],
                                  m[cy1:cy2, cx1:cx2] * 255]).astype(np.uint8)
                cut_file = osp.join('cutouts', f'{k:03d}_{short}.png')
                cv2.imwrite(osp.join(d, cut_file), rgba)
            else:
                cut_file = None
            overlay[m] = (0.5 * overlay[m] + 0.5 * np.array(_colour(label))).astype(np.uint8)
            rec.update(mask_file=mask_file, cutout_file=cut_file, mask_area=int(m.sum()))
        if 'attributes' in inst:
            rec['attributes'] = inst['attributes']
        records.append(rec)
        cv2.rectangle(overlay, (int(x1), int(y1)), (int(x2), int(y2)), _colour(label), 2)
        labels.append((f'{short} {rec["score"]:.2f}', x1, y1, _colour(label)))
    for text, x, y in place_labels(labels, overlay.shape[:2]):
        draw_label(overlay, text, x, y)
    cv2.imwrite(osp.join(d, 'overlay.png'), overlay)
    record = dict(image=path, width=img.shape[1], height=img.shape[0], instances=records)
    with open(osp.join(d, f'{stem}.json'), 'w') as f:
        json.dump(record, f, indent=1)
    return record


def export_image(pred,
                 img,
                 path,
                 out_dir,
                 class_names=None,
                 score_thr=0.3,
                 keep_classes=None,
                 attr_decoder=None):
    """Write the ``instances`` files of one prediction; returns the JSON record.

    ``pred``: a ``DetDataSample`` (``FashionpediaInferencer(..., return_datasamples=True)``)
    or its ``pred_instances``; ``img``: the photo it was predicted on (BGR array, or a path);
    ``path``: the image path recorded in the JSON (its stem names the folder). The rest as
    :func:`decode_prediction`.
    """
    if isinstance(img, str):
        img = read_image(img)
    instances, masks = decode_prediction(pred, class_names, score_thr, keep_classes, attr_decoder)
    return write_instances(img, path, out_dir, instances, masks)


def read_image(path):
    """The photo as the model reads it (BGR, EXIF orientation applied); ``ValueError`` with
    the reason when it cannot be read."""
    if not osp.isfile(path):
        raise ValueError('no such file')
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError('cannot read image (not an image, truncated or unsupported format)')
    return img
