"""Each try-on layout read the way its consumer's loader reads it (tryon/layouts.py cites the
files and commits): pairs file -> every file it opens exists, opens in the mode it expects, has
the size it needs, label ids within the consumer's table, the garment region non-empty. On
hand-drawn photos (no model): portrait, landscape, square, and a name containing ``_0``."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest
from PIL import Image

from fashionpedia_plugin import taxonomy

SHAPES = {'portrait_0a': (480, 320), 'landscape': (300, 500), 'square.v2': (400, 400)}


def _figure(h, w):
    """A top with sleeves (sleeves partly outside the top, as predicted), pants, a shoe; the
    person's body (for the human parse) around them. ``(img, instances, masks, body)``."""
    u = min(h, w) / 100.0
    cx, top = w / 2, h * 0.1

    def box(x1, y1, x2, y2):
        m = np.zeros((h, w), bool)
        m[int(y1):int(y2), int(x1):int(x2)] = True
        return m

    torso = box(cx - 14 * u, top + 10 * u, cx + 14 * u, top + 45 * u)
    sleeves = box(cx - 22 * u, top + 10 * u, cx - 12 * u, top + 30 * u) | \
        box(cx + 12 * u, top + 10 * u, cx + 22 * u, top + 30 * u)
    pants = box(cx - 12 * u, top + 45 * u, cx + 12 * u, top + 85 * u)
    shoe = box(cx - 12 * u, top + 85 * u, cx - 2 * u, top + 89 * u)
    head = box(cx - 6 * u, top - 4 * u, cx + 6 * u, top + 10 * u)
    rng = np.random.RandomState(h * 7 + w)
    img = rng.randint(90, 160, (h, w, 3)).astype(np.uint8)
    for m, c in ((torso | sleeves, (40, 40, 200)), (pants, (200, 60, 40)), (shoe, (10, 10, 10)),
                 (head, (120, 160, 200))):
        img[m] = c
    specs = [('top, t-shirt, sweatshirt', 0.9, torso), ('sleeve', 0.8, sleeves),
             ('pants', 0.85, pants), ('shoe', 0.7, shoe)]
    instances = [
        dict(id=k, class_id=taxonomy.CLASSES.index(n), class_name=n, score=s, attributes=[])
        for k, (n, s, _) in enumerate(specs)
    ]
    body = np.zeros((h, w), np.uint8)  # CIHP ids, as a human parser writes them
    body[head] = 13
    body[box(cx - 22 * u, top + 10 * u, cx + 22 * u, top + 45 * u)] = 5
    body[box(cx - 24 * u, top + 30 * u, cx - 14 * u, top + 50 * u)] = 14  # arms below sleeves
    body[box(cx + 14 * u, top + 30 * u, cx + 24 * u, top + 50 * u)] = 15
    body[pants] = 9
    return img, instances, np.stack([m for _, _, m in specs]), body


@pytest.fixture(scope='module')
def export(tmp_path_factory):
    """Every layout of the three photos, the first with a human parse (the others without)."""
    from fashionpedia_plugin.tryon import export_photo, finish_export, load_tryon_labels
    out = str(tmp_path_factory.mktemp('consumers'))
    hp = tmp_path_factory.mktemp('human_parse')
    labels = load_tryon_labels()
    records = {}
    for i, (stem, (h, w)) in enumerate(SHAPES.items()):
        img, instances, masks, body = _figure(h, w)
        photo = osp.join(out, '..', f'{stem}.jpg')
        if i == 0:
            Image.fromarray(body).save(hp / f'{stem}.png')
        _, rec = export_photo(
            out,
            photo,
            img,
            instances,
            masks, ('parse', 'vitonhd', 'idm-vton', 'dresscode', 'tags'),
            labels,
            category='upper_body',
            human_parse=str(hp) if i == 0 else None,
            provenance=dict(format_version=2))
        records[stem] = rec
    finish_export(out, ('vitonhd', 'idm-vton', 'dresscode', 'tags'), 'upper_body')
    return out, records, labels


def _pairs(path):
    """``im_name, c_name = line.strip().split()`` for each line (all three loaders)."""
    with open(path) as f:
        return [line.strip().split() for line in f if line.strip()]


def test_vitonhd_as_its_loader_reads_it(export):
    """shadow2496/VITON-HD datasets.py VITONDataset.__getitem__ with test.py's defaults."""
    out, records, labels = export
    root = osp.join(out, 'vitonhd')
    pairs = _pairs(osp.join(root, 'test_pairs.txt'))  # osp.join(dataset_dir, dataset_list)
    assert len(pairs) == len(SHAPES)
    d = osp.join(root, 'test')
    for img_name, c_name in pairs:
        person = Image.open(osp.join(d, 'image', img_name))
        parse = Image.open(osp.join(d, 'image-parse', img_name.replace('.jpg', '.png')))
        cloth = Image.open(osp.join(d, 'cloth', c_name)).convert('RGB')
        cmask = Image.open(osp.join(d, 'cloth-mask', c_name))
        # transforms.Resize(768) then fixed 768 x 1024 buffers: everything must be 768 x 1024
        for im in (person, parse, cloth, cmask):
            assert im.size == (768, 1024), (img_name, im.size)
        assert person.mode == 'RGB' and cmask.mode == 'L'
        ids = np.array(parse)
        assert parse.mode == 'P' and ids.max() <= 19  # scatter_ into 20 channels
        assert ((np.array(cmask) >= 128).sum()) > 0  # the loader's threshold: a garment
        assert np.isin(ids, (5, 6, 7)).any()  # labels 'upper' = [5, 6, 7]


def test_idm_vton_as_its_loader_reads_it(export):
    """yisol/IDM-VTON inference.py VitonHDTestDataset, paired (default) and unpaired."""
    out, records, labels = export
    root = osp.join(out, 'idm-vton')
    tagged = json.load(open(osp.join(root, 'test', 'vitonhd_test_tagged.json')))
    captions = {e['file_name'] for v in tagged.values() for e in v}
    for unpaired in (False, True):
        for im_name, c_name in _pairs(osp.join(root, 'test_pairs.txt')):
            if not unpaired:
                c_name = im_name  # paired mode ignores column 2
            cloth = Image.open(osp.join(root, 'test', 'cloth', c_name))
            person = Image.open(osp.join(root, 'test', 'image', im_name))
            mask = Image.open(
                osp.join(root, 'test', 'agnostic-mask', im_name.replace('.jpg', '_mask.png')))
            # the cloth is not resized and is batched by 2: exactly 768 x 1024 (W x H)
            assert cloth.size == person.size == mask.size == (768, 1024)
            assert cloth.mode == person.mode == 'RGB' and mask.mode == 'L'
            assert (np.array(mask) > 127).any()
            assert c_name in captions  # looked up by the cloth's file name


def test_dresscode_as_its_loader_reads_it(export):
    """aimagelab/dress-code data/dataset.py Dataset.__getitem__, both pairs files."""
    out, records, labels = export
    for cat, garment_id in (('upper_body', 4), ('lower_body', 6)):
        root = osp.join(out, 'dresscode', cat)
        for order in ('paired', 'unpaired'):
            pairs = _pairs(osp.join(root, f'test_pairs_{order}.txt'))
            assert len(pairs) == len(SHAPES)
            for im_name, c_name in pairs:
                assert im_name.endswith('_0.jpg') and '_0' not in im_name[:-len('_0.jpg')]
                Image.open(osp.join(root, 'images', c_name)).convert('RGB')
                Image.open(osp.join(root, 'images', im_name))
                lm = Image.open(osp.join(root, 'label_maps', im_name.replace('_0.jpg', '_4.png')))
                ids = np.array(lm)
                assert lm.mode == 'L' and ids.max() < 18  # sem2onehot(18, ...)
                assert (ids == garment_id).any(), (cat, im_name)  # parse_cloth of the category
                # the skeleton path the loader builds: unchanged but for the suffix
                assert im_name.replace('_0', '_5') == im_name[:-len('_0.jpg')] + '_5.jpg'


def test_any_aspect_ratio_maps_back_to_the_photo(export):
    out, records, labels = export
    from fashionpedia_plugin.tryon.geometry import Letterbox
    for stem, (h, w) in SHAPES.items():
        rec = records[stem]
        g = rec['geometry']
        box = Letterbox(
            tuple(g['source']), tuple(g['size']), g['scale'], g['left'], g['top'], g['width'],
            g['height'])
        assert box.source == (w, h) and box.size == (768, 1024)
        assert abs(box.width / box.height - w / h) < 0.01  # no stretching
        name = rec['export_name']
        parse = np.array(
            Image.open(osp.join(out, 'vitonhd', 'test', 'image-parse', f'{name}_00.png')))
        back = box.to_source(parse)
        ours = np.array(Image.open(osp.join(out, 'parse', f'{stem}.png')))
        assert back.shape == (h, w)
        assert (back == ours).mean() > 0.97  # nearest both ways: edges may move by a pixel


def test_human_parse_adds_the_body_and_ours_win_on_garments(export):
    out, records, labels = export
    stem = 'portrait_0a'
    parse = np.array(Image.open(osp.join(out, 'parse', f'{stem}.png')))
    img, instances, masks, body = _figure(*SHAPES[stem])
    assert (parse[body == 13] == 13).all()  # face from the human parser
    arms = (body == 14) & ~masks[1]
    assert (parse[arms] == 14).all()
    assert (parse[masks[0] | masks[1]] == labels.to_cihp['top, t-shirt, sweatshirt']).all()
    assert records[stem]['body_regions'] == 'human parse'
    assert records['landscape']['body_regions'] == 'none (garments only)'


def test_names_are_safe_for_every_loader(export):
    out, records, labels = export
    assert records['portrait_0a']['export_name'] == 'portrait-0a'
    assert records['square.v2']['export_name'] == 'square-v2'


def test_sheet_shows_each_consumer_layout(export, tmp_path):
    out, records, labels = export
    from conftest import run_tool
    path = tmp_path / 'sheet.png'
    log = run_tool('tools/analysis_tools/tryon_sheet.py', out, 'landscape', str(path))
    assert '3 layout(s)' in log
    sheet = cv2.imread(str(path))
    assert sheet.shape[0] == 3 * (256 + 22 + 4)  # one row per layout


def test_low_confidence_and_off_person_cloth_is_held_back(tmp_path):
    """A weak garment is reported, not exported; with a human parse, neither is a garment that
    lies mostly off the person (a false 'top' on the background)."""
    from fashionpedia_plugin.tryon import export_photo, load_tryon_labels
    img, instances, masks, body = _figure(400, 300)
    instances[0]['score'] = 0.3  # the top
    files, rec = export_photo(
        str(tmp_path), 'weak.jpg', img, instances, masks, ('vitonhd', ), load_tryon_labels())
    assert rec['cloth']['upper_body'] is None and rec['cloth']['lower_body'] is not None
    assert rec['held_back'] == [
        dict(
            category='upper_body',
            class_name='top, t-shirt, sweatshirt',
            score=0.3,
            why='score below 0.5')
    ]
    assert not any('/cloth/' in f for f in files)
    hp = tmp_path / 'hp'
    hp.mkdir()
    Image.fromarray(np.where(masks[2], 9, 0).astype(np.uint8)).save(hp / 'off.png')  # pants only
    instances[0]['score'] = 0.9
    _, rec = export_photo(
        str(tmp_path),
        'off.jpg',
        img,
        instances,
        masks, ('vitonhd', ),
        load_tryon_labels(),
        human_parse=str(hp))
    assert rec['cloth']['upper_body'] is None and 'on the person' in rec['held_back'][0]['why']


def test_human_parse_errors_name_the_file(tmp_path):
    from fashionpedia_plugin.tryon import export_photo, load_tryon_labels
    from fashionpedia_plugin.tryon.human_parse import HumanParseError
    img, instances, masks, body = _figure(400, 300)
    for name, arr, needle in (('small', body[:100], '300 x 100, the photo is 300 x 400'),
                              ('ids', np.full_like(body, 30), 'id 30 is not a CIHP/LIP id')):
        Image.fromarray(arr).save(tmp_path / f'{name}.png')
        with pytest.raises(HumanParseError, match=needle):
            export_photo(
                str(tmp_path / 'out'),
                f'{name}.jpg',
                img,
                instances,
                masks, ('parse', ),
                load_tryon_labels(),
                human_parse=str(tmp_path))
    with pytest.raises(HumanParseError, match='missing.png: not found'):
        export_photo(
            str(tmp_path / 'out'),
            'missing.jpg',
            img,
            instances,
            masks, ('parse', ),
            load_tryon_labels(),
            human_parse=str(tmp_path))


def test_overview_of_one_photo(export, tmp_path):
    out, records, labels = export
    from conftest import run_tool
    path = tmp_path / 'overview.png'
    # the photo files of the fixture are not on disk: give one
    rec_file = osp.join(out, 'garments', 'square.v2.json')
    rec = json.load(open(rec_file))
    img, _, _, _ = _figure(*SHAPES['square.v2'])
    cv2.imwrite(str(tmp_path / 'photo.jpg'), img)
    rec['image_file'] = str(tmp_path / 'photo.jpg')
    json.dump(rec, open(rec_file, 'w'))
    log = run_tool('tools/analysis_tools/tryon_sheet.py', out, 'square.v2', str(path), '--overview')
    assert '4 tile(s)' in log  # photo, parse, top (+ sleeve), pants
    assert cv2.imread(str(path)).shape[0] == 256 + 22
