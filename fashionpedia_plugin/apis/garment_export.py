"""Inference for the virtual-fitting hand-off: masks, RGBA cut-outs and a JSON per image.

For each image ``<out>/<stem>/`` receives ``overlay.png`` (masks, boxes, labels), ``masks/*.png``
(one 0/255 mask per instance), ``cutouts/*.png`` (RGBA garment crops, alpha = mask) and
``<stem>.json`` (class, score, box, files, attributes with names and scores).
"""
import glob
import json
import os
import os.path as osp

import cv2
import numpy as np

from ..datasets import taxonomy

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
# main garments, the try-on targets: Fashionpedia ids 0-12 (shirt .. cape)
GARMENT_CLASSES = tuple(range(13))


def collect_images(spec):
    """A file, a folder (its images, sorted) or a glob pattern -> list of image paths."""
    if osp.isdir(spec):
        paths = sorted(p for p in glob.glob(osp.join(spec, '*')) if p.lower().endswith(IMAGE_EXTS))
    elif osp.isfile(spec):
        paths = [spec]
    else:
        paths = sorted(p for p in glob.glob(spec) if p.lower().endswith(IMAGE_EXTS))
    if not paths:
        raise FileNotFoundError(f'no images found at {spec!r} (a file, a folder or a glob)')
    return paths


def parse_classes(names, class_names=taxonomy.CLASSES):
    """``['garments']`` / ids / exact names / unique name prefixes -> set of label indices."""
    if not names:
        return None
    out = set()
    for n in names:
        if n == 'garments':
            out |= set(GARMENT_CLASSES)
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


def init_model(config, checkpoint, device='cpu'):
    """mmdet's ``init_detector`` with annotation loading removed from the test pipeline."""
    from mmdet.apis import init_detector
    from mmengine.config import Config

    from .. import compat  # noqa: F401  (checkpoint loading on torch >= 2.6)
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    pipeline = [t for t in cfg.test_dataloader.dataset.pipeline if 'Annotations' not in t['type']]
    cfg.test_dataloader.dataset.pipeline = pipeline
    return init_detector(cfg, checkpoint, device=device)


def _colour(label):
    return taxonomy.palette()[label % len(taxonomy.CLASSES)][::-1]  # BGR


def export_image(model, path, out_dir, score_thr=0.3, keep_classes=None):
    """Run the model on one image and write its files; returns the JSON record."""
    from mmdet.apis import inference_detector
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f'{path}: cannot read image')
    pred = inference_detector(model, path).pred_instances
    keep = (pred.scores >= score_thr).cpu().numpy()
    if keep_classes is not None:
        keep &= np.isin(pred.labels.cpu().numpy(), sorted(keep_classes))
    pred = pred[np.flatnonzero(keep)]
    stem = osp.splitext(osp.basename(path))[0]
    d = osp.join(out_dir, stem)
    os.makedirs(osp.join(d, 'masks'), exist_ok=True)
    os.makedirs(osp.join(d, 'cutouts'), exist_ok=True)
    overlay = img.copy()
    names = model.dataset_meta.get('classes', taxonomy.CLASSES)
    attr_ids = model.dataset_meta.get('attribute_ids', taxonomy.ATTRIBUTE_IDS)
    instances = []
    masks = pred.masks.cpu().numpy().astype(bool) if 'masks' in pred else None
    for k in range(len(pred)):
        label = int(pred.labels[k])
        name = names[label]
        short = name.split(',')[0].replace(' ', '-')
        x1, y1, x2, y2 = [float(v) for v in pred.bboxes[k]]
        rec = dict(
            id=k,
            class_id=label,
            class_name=name,
            score=round(float(pred.scores[k]), 4),
            bbox_xyxy=[round(v, 1) for v in (x1, y1, x2, y2)])
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
        if 'attr_scores' in pred:
            scores = pred.attr_scores[k].cpu().numpy()
            ids = set(pred.attribute_ids[k])
            rec['attributes'] = [
                dict(
                    id=int(a),
                    name=taxonomy.ATTRIBUTE_NAMES[taxonomy.ATTR_ID_TO_INDEX[a]],
                    supercategory=taxonomy.ATTRIBUTE_SUPERCATEGORIES[taxonomy.ATTR_ID_TO_INDEX[a]],
                    score=round(float(scores[j]), 4)) for j, a in enumerate(attr_ids) if a in ids
            ]
        instances.append(rec)
        cv2.rectangle(overlay, (int(x1), int(y1)), (int(x2), int(y2)), _colour(label), 2)
        cv2.putText(overlay, f'{short} {rec["score"]:.2f}', (int(x1), max(int(y1) - 3, 10)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4, _colour(label), 1, cv2.LINE_AA)
    cv2.imwrite(osp.join(d, 'overlay.png'), overlay)
    record = dict(image=path, width=img.shape[1], height=img.shape[0], instances=instances)
    with open(osp.join(d, f'{stem}.json'), 'w') as f:
        json.dump(record, f, indent=1)
    return record
