"""The try-on export (apis/garment_export.py) through tools/infer.py."""
import json
import os.path as osp

import pytest
from conftest import DEMO_CONFIG, TOOLS, prior_options, tool


def test_infer_writes_masks_cutouts_and_json(trained, synthetic_root, tmp_path):
    trained_ckpt = osp.join(trained[0], 'iter_2.pth')
    import cv2
    out = tmp_path / 'out'
    pattern = osp.join(synthetic_root, 'test', '*.jpg')
    res = tool(
        osp.join(TOOLS, 'infer.py'),
        pattern,
        DEMO_CONFIG,
        trained_ckpt,
        '--out-dir',
        out,
        '--score-thr',
        '0',
        '--classes',
        'garments',
        'sleeve',
        '--cfg-options',
        'model.test_cfg.rcnn.score_thr=0',  # an untrained model scores ~1/47
        *prior_options(synthetic_root))
    assert '6 image(s)' in res.stdout
    recs = [json.load(open(p)) for p in sorted(out.glob('*/*.json'))]
    assert len(recs) == 6
    from fashionpedia_plugin import taxonomy
    allowed = set(taxonomy.GARMENTS) | {31}
    n = 0
    for rec in recs:
        d = out / osp.splitext(osp.basename(rec['image']))[0]
        assert (d / 'overlay.png').exists()
        for inst in rec['instances']:
            n += 1
            assert inst['class_id'] in allowed and 'attributes' in inst
            mask = cv2.imread(str(d / inst['mask_file']), cv2.IMREAD_UNCHANGED)
            assert mask.shape == (rec['height'], rec['width'])
            assert int((mask > 0).sum()) == inst['mask_area']
            if inst['cutout_file']:
                cut = cv2.imread(str(d / inst['cutout_file']), cv2.IMREAD_UNCHANGED)
                assert cut.shape[2] == 4 and int((cut[..., 3] > 0).sum()) == inst['mask_area']
    assert n > 0


@pytest.mark.parametrize('args,needle', [
    (['/no/such/dir', DEMO_CONFIG, '/no.pth'], 'checkpoint not found'),
    (['/no/such/dir/*.jpg', DEMO_CONFIG, __file__], 'no images found'),
    (['x.jpg', DEMO_CONFIG, __file__, '--classes', 'tuxedo'], "unknown class 'tuxedo'"),
])
def test_infer_bad_inputs(args, needle):
    res = tool(osp.join(TOOLS, 'infer.py'), *args, check=False)
    assert res.returncode == 2 and needle in res.stderr and 'Traceback' not in res.stderr


def test_labels_of_overlapping_boxes_do_not_overlap():
    import cv2

    from fashionpedia_plugin.apis.garment_export import place_labels
    labels = [(f'garment{i} 0.9{i}', 100 + i, 100 + 2 * i, None) for i in range(4)]
    boxes = []
    for text, x, y in place_labels(labels, (320, 320)):
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
        boxes.append((x, y, x + tw + 4, y + th + base + 4))
    for i, a in enumerate(boxes):
        assert 0 <= a[0] and a[2] <= 320 and 0 <= a[1] and a[3] <= 320
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
