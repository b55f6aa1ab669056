"""Seeded random ground truth + detections in the official format, for parity tests and the
evaluator benchmark (no images needed: the evaluators read only the JSON)."""
import numpy as np
import pycocotools.mask as mask_utils

from .. import taxonomy


def _polygon(rng, x, y, w, h):
    k = rng.randint(3, 9)
    ang = np.sort(rng.uniform(0, 2 * np.pi, k))
    rx, ry = w / 2 * rng.uniform(0.6, 1, k), h / 2 * rng.uniform(0.6, 1, k)
    pts = np.stack([x + w / 2 + rx * np.cos(ang), y + h / 2 + ry * np.sin(ang)], 1)
    return [[round(float(v), 2) for v in pts.reshape(-1)]]


def _attrs(rng, cat, n_attr_ids):
    if cat not in taxonomy.CATEGORIES_WITH_ATTRIBUTES and rng.rand() < 0.9:
        return []
    n = rng.choice([0, 1, 2, 3, 5], p=[0.15, 0.3, 0.3, 0.15, 0.1])
    return sorted(int(a) for a in rng.choice(n_attr_ids, n, replace=False))


def make_case(seed,
              num_images=20,
              gts_per_image=8,
              dets_per_image=30,
              num_classes=46,
              crowd_frac=0.05,
              rle_frac=0.3,
              tie_frac=0.2,
              size=(200, 300)):
    """Returns ``(gt_dict, results_list)``. Categories/attributes are the official 46/294."""
    rng = np.random.RandomState(seed)
    attr_ids = list(taxonomy.ATTRIBUTE_IDS)
    images, anns, results = [], [], []
    ann_id = 1
    for i in range(num_images):
        h, w = size
        img_id = 1000 + i
        images.append(dict(id=img_id, width=w, height=h, file_name=f'{img_id}.jpg'))
        n_gt = rng.poisson(gts_per_image) if gts_per_image else 0
        gts = []
        for _ in range(n_gt):
            cat = int(rng.randint(num_classes))
            # mix of small (< 32^2), medium and large objects
            bw, bh = rng.uniform(4, 0.95 * w), rng.uniform(4, 0.95 * h)
            x, y = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            seg = _polygon(rng, x, y, bw, bh)
            rle = mask_utils.merge(mask_utils.frPyObjects(seg, h, w))
            crowd = int(rng.rand() < crowd_frac)
            if crowd or rng.rand() < rle_frac:
                if rng.rand() < 0.5:  # compressed RLE with string counts
                    seg = dict(size=[h, w], counts=rle['counts'].decode())
                else:  # uncompressed RLE with list counts
                    m = mask_utils.decode(rle)
                    flat = m.flatten(order='F')
                    change = np.flatnonzero(np.diff(flat)) + 1
                    runs = np.diff(np.concatenate([[0], change, [flat.size]]))
                    counts = ([0] if flat[0] else []) + runs.tolist()
                    seg = dict(size=[h, w], counts=[int(c) for c in counts])
            bbox = [float(v) for v in mask_utils.toBbox(rle)]
            area = float(mask_utils.area(rle))
            if area < 1:
                continue
            ann = dict(
                id=ann_id,
                image_id=img_id,
                category_id=cat,
                segmentation=seg,
                area=area,
                bbox=bbox,
                iscrowd=crowd,
                attribute_ids=_attrs(rng, cat, attr_ids))
            ann_id += 1
            anns.append(ann)
            gts.append((ann, rle))
        n_dt = rng.poisson(dets_per_image) if dets_per_image else 0
        for _ in range(n_dt):
            near = bool(gts) and rng.rand() < 0.7
            if near:  # near a ground truth, sometimes with another label
                g, g_rle = gts[rng.randint(len(gts))]
                cat = g['category_id'] if rng.rand() < 0.85 else int(rng.randint(num_classes))
                x, y, bw, bh = g['bbox']
                jit = rng.uniform(-0.3, 0.3, 4) * [bw, bh, bw, bh]
                x, y = max(0, x + jit[0]), max(0, y + jit[1])
                bw, bh = max(2, bw + jit[2]), max(2, bh + jit[3])
                attrs = list(g['attribute_ids'])
                if rng.rand() < 0.5 and attrs:
                    attrs = attrs[:rng.randint(len(attrs) + 1)]
                if rng.rand() < 0.3:
                    attrs = sorted(set(attrs) | set(_attrs(rng, 0, attr_ids)))
            else:
                cat = int(rng.randint(num_classes))
                bw, bh = rng.uniform(4, 150), rng.uniform(4, 150)
                x, y = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
                attrs = _attrs(rng, cat, attr_ids)
            bw, bh = min(bw, w - x), min(bh, h - y)
            if near and rng.rand() < 0.5:  # the ground-truth mask itself: high IoU
                rle = dict(g_rle)
            else:
                rle = mask_utils.merge(mask_utils.frPyObjects(_polygon(rng, x, y, bw, bh), h, w))
            rle['counts'] = rle['counts'].decode()
            score = round(float(rng.rand()), 2) if rng.rand() < tie_frac else float(rng.rand())
            results.append(
                dict(
                    image_id=img_id,
                    category_id=cat,
                    score=score,
                    bbox=[round(float(v), 2) for v in (x, y, bw, bh)],
                    segmentation=rle,
                    attribute_ids=[int(a) for a in attrs]))
    gt = dict(
        info={},
        licenses=[],
        images=images,
        annotations=anns,
        categories=[dict(c) for c in taxonomy.CATEGORIES],
        attributes=[dict(a) for a in taxonomy.ATTRIBUTES])
    return gt, results
