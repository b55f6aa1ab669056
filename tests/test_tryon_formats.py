"""Try-on layouts (tryon/formats.py, tags.py) and their label file, on the figure of
test_garments.py (known garments, no model)."""
import copy
import json
import os.path as osp

import cv2
import numpy as np
import pytest
from PIL import Image
from test_garments import H, W, figure, rect

CIHP_PALETTE = [(0, 0, 0), (128, 0, 0), (255, 0, 0), (0, 85, 0), (170, 0, 51), (255, 85, 0),
                (0, 0, 85), (0, 119, 221), (85, 85, 0), (0, 85, 85), (85, 51, 0), (52, 86, 128),
                (0, 128, 0), (0, 0, 255), (51, 170, 221), (0, 255, 255), (85, 255, 170),
                (170, 255, 85), (255, 255, 0), (255, 170, 0)]  # CIHP_PGN utils/utils.py


@pytest.fixture
def grouped():
    from fashionpedia_plugin.tryon import group_garments
    instances, masks, ids = figure()
    rng = np.random.RandomState(0)
    img = rng.randint(0, 200, size=(H, W, 3)).astype(np.uint8)  # no white pixel in the photo
    return img, group_garments(instances, masks), masks, ids


def test_label_file_maps_real_classes_and_names_its_sources():
    from fashionpedia_plugin.tryon import load_tryon_labels
    labels = load_tryon_labels()
    assert labels.cihp_palette == CIHP_PALETTE and len(labels.cihp_labels) == 20
    cihp = {name: labels.cihp_labels[i] for name, i in labels.to_cihp.items()}
    assert cihp['top, t-shirt, sweatshirt'] == 'upper-clothes' and labels.to_cihp['jacket'] == 7
    assert labels.to_cihp['jumpsuit'] == 6 and labels.to_cihp['skirt'] == 12
    assert labels.to_cihp['shorts'] == 9 and labels.to_cihp['shoe'] == 18
    assert labels.to_dresscode['pants'] == 6 and labels.to_dresscode['dress'] == 7
    assert labels.to_dresscode['skirt'] == 5 and labels.to_dresscode['vest'] == 4
    for key in ('cihp', 'vitonhd', 'dresscode', 'idm_vton'):
        assert labels.sources[key]['repository'].startswith('https://github.com/')
    assert 'jumpsuit' in labels.decisions and 'vest' in labels.decisions


@pytest.mark.parametrize('edit,needle', [
    (lambda s: s['to_cihp'].update({'tshirt': 'upper-clothes'}), "'tshirt' is not a Fashionpedia"),
    (lambda s: s['to_cihp'].update({'skirt': 'bottom'}), "'skirt' -> 'bottom'"),
    (lambda s: s['to_cihp'].pop('hat'), "no label for 'hat'"),
    (lambda s: s['tags']['keys'][0].update(supercategories=['lenght']), "'lenght'"),
])
def test_a_wrong_label_file_fails_loudly(edit, needle):
    from fashionpedia_plugin.tryon import TryonLabels, load_tryon_labels
    with open(load_tryon_labels().path) as f:
        spec = json.load(f)
    edit(spec)
    with pytest.raises(ValueError, match=needle.replace('(', r'\(')):
        TryonLabels(spec)


def test_parse_map_has_cihp_ids_and_palette(grouped, tmp_path):
    from fashionpedia_plugin.tryon import label_map, load_tryon_labels, write_parse
    img, groups, masks, ids = grouped
    labels = load_tryon_labels()
    parse = label_map(groups, img.shape[:2], labels.to_cihp)
    assert write_parse(str(tmp_path), 'fig', parse, labels) == ['parse/fig.png']
    im = Image.open(tmp_path / 'parse' / 'fig.png')
    assert im.mode == 'P'
    assert im.getpalette()[:60] == [v for c in CIHP_PALETTE for v in c]
    arr = np.array(im)
    assert arr[30, 50] == 5  # top: upper-clothes
    assert arr[30, 12] == 5  # the left sleeve outside the top's outline: painted as its top
    assert arr[90, 60] == 9  # pants
    assert arr[85, 40] == 9  # pocket: as its pants
    assert arr[105, 88] == 0  # the unattached bow has no label
    assert arr[118, 35] == 18  # shoe below the pants
    assert arr[113, 35] == 9  # shoe under the pants: the pants score higher
    assert set(np.unique(arr)) == {0, 5, 9, 18}


def test_higher_score_wins_where_garments_overlap():
    from fashionpedia_plugin.tryon import group_garments, label_map, load_tryon_labels
    to_cihp = load_tryon_labels().to_cihp

    def paint(top_score, jacket_score):
        instances = [
            dict(id=0, class_id=1, class_name='top, t-shirt, sweatshirt', score=top_score),
            dict(id=1, class_id=4, class_name='jacket', score=jacket_score)
        ]
        groups = group_garments(instances, np.stack([rect(0, 60, 0, 60), rect(30, 90, 30, 90)]))
        return label_map(groups, (H, W), to_cihp)[45, 45]

    assert paint(0.9, 0.95) == 7 and paint(0.95, 0.9) == 5


def _export(tmp_path, formats, category='upper_body', margin=0, name='fig.jpg'):
    from fashionpedia_plugin.tryon import export_photo, load_tryon_labels
    instances, masks, _ = figure()
    rng = np.random.RandomState(0)
    img = rng.randint(0, 200, size=(H, W, 3)).astype(np.uint8)  # no white pixel in the photo
    files, rec = export_photo(
        str(tmp_path),
        name,
        img,
        instances,
        masks,
        formats,
        load_tryon_labels(),
        category=category,
        agnostic_margin=margin)
    return files, rec


def _box(rec):
    from fashionpedia_plugin.tryon import Letterbox
    g = rec['geometry']
    return Letterbox(
        tuple(g['source']), tuple(g['size']), g['scale'], g['left'], g['top'], g['width'],
        g['height'])


def test_vitonhd_cloth_and_masks(grouped, tmp_path):
    from fashionpedia_plugin.tryon import label_map, load_tryon_labels
    img, groups, masks, _ = grouped
    labels = load_tryon_labels()
    parse = label_map(groups, img.shape[:2], labels.to_cihp)
    files, rec = _export(tmp_path, ('vitonhd', 'idm-vton'))
    d = tmp_path / 'vitonhd' / 'test'
    for f in ('image/fig_00.jpg', 'image-parse/fig_00.png', 'cloth/fig_00.jpg',
              'cloth-mask/fig_00.jpg'):
        assert f'vitonhd/test/{f}' in files
    assert 'idm-vton/test/agnostic-mask/fig_00_mask.png' in files
    cloth = cv2.imread(str(d / 'cloth' / 'fig_00.jpg'))
    cmask = cv2.imread(str(d / 'cloth-mask' / 'fig_00.jpg'), cv2.IMREAD_UNCHANGED)
    assert cmask.ndim == 2 and cloth.shape[:2] == cmask.shape == (1024, 768)
    # binary: JPEG at quality 100 keeps every value within 1 of 0/255 (VITON-HD's >= 128)
    assert np.all((cmask <= 1) | (cmask >= 254)) and (cmask >= 128).any()
    far = cv2.dilate((cmask >= 128).astype(np.uint8), np.ones((33, 33), np.uint8)) == 0
    assert far.any() and cloth[far].min() >= 240  # white outside the garment
    box = _box(rec)
    back = box.to_source(np.array(Image.open(d / 'image-parse' / 'fig_00.png')))
    assert (back == parse).mean() > 0.97
    top = groups.masks[groups.best('upper_body')]
    agn = cv2.imread(
        str(tmp_path / 'idm-vton' / 'test' / 'agnostic-mask' / 'fig_00_mask.png'),
        cv2.IMREAD_UNCHANGED)
    assert agn.shape == (1024, 768) and set(np.unique(agn)) == {0, 255}
    assert ((box.to_source(agn) > 0) == top).mean() > 0.98  # margin 0: the merged garment
    _export(tmp_path, ('idm-vton', ), margin=3)
    dilated = box.to_source(
        cv2.imread(str(tmp_path / 'idm-vton' / 'test' / 'agnostic-mask' / 'fig_00_mask.png'),
                   0)) > 0
    assert dilated.sum() > top.sum() and dilated[18, 50]


def test_vitonhd_other_category_and_none_found(grouped, tmp_path):
    _export(tmp_path, ('vitonhd', ), 'lower_body', name='a.jpg')
    cmask = cv2.imread(str(tmp_path / 'vitonhd' / 'test' / 'cloth-mask' / 'a_00.jpg'), 0)
    assert (cmask >= 128).any()
    files, _ = _export(tmp_path, ('vitonhd', ), 'dresses', name='b.jpg')
    assert [f for f in files if f.startswith('vitonhd')
            ] == ['vitonhd/test/image/b_00.jpg', 'vitonhd/test/image-parse/b_00.png']


def test_cloth_crop_beyond_the_photo_is_white():
    from fashionpedia_plugin.tryon import cloth_crop
    img = np.zeros((H, W, 3), np.uint8)
    mask = rect(0, 10, 0, 90)  # wide garment at the top edge: the 3:4 crop leaves the photo
    cloth, cmask = cloth_crop(img, mask)
    assert cloth.shape[:2] == cmask.shape and cmask.shape[0] > H
    assert int((cmask > 0).sum()) == int(mask.sum()) and set(np.unique(cmask)) == {0, 255}
    assert np.all(cloth[cmask > 0] == 0) and np.all(cloth[cmask == 0] == 255)


def test_dresscode_split_by_category(grouped, tmp_path):
    from fashionpedia_plugin.tryon import TryonLabels, load_tryon_labels
    from fashionpedia_plugin.tryon.layouts import write_pair_lists
    img, groups, _, _ = grouped
    labels = load_tryon_labels()
    files, rec = _export(tmp_path, ('dresscode', ))
    for cat in ('upper_body', 'lower_body'):
        for f in ('images/fig_0.jpg', 'images/fig_1.jpg', 'masks/fig_1.png',
                  'label_maps/fig_4.png'):
            assert f'dresscode/{cat}/{f}' in files and osp.isfile(tmp_path / 'dresscode' / cat / f)
    assert not (tmp_path / 'dresscode' / 'dresses').exists()
    box = _box(rec)
    lm = Image.open(tmp_path / 'dresscode' / 'upper_body' / 'label_maps' / 'fig_4.png')
    arr = box.to_source(np.array(lm))
    assert lm.mode == 'L' and lm.size == (768, 1024)
    assert arr[30, 50] == 4 and arr[90, 60] == 6 and arr[118, 35] == 9
    mask = cv2.imread(str(tmp_path / 'dresscode' / 'lower_body' / 'masks' / 'fig_1.png'), 0)
    assert set(np.unique(mask)) == {0, 255}
    write_pair_lists(str(tmp_path))
    pairs = (tmp_path / 'dresscode' / 'upper_body' / 'test_pairs_paired.txt').read_text()
    assert pairs == 'fig_0.jpg fig_1.jpg\n'
    assert (tmp_path / 'dresscode' / 'upper_body' / 'test_pairs_unpaired.txt').read_text() == \
        'fig_0.jpg fig_1.jpg\n'  # one photo: its own garment is the only other one
    # the split follows the label file: move the top to dresses and it lands there
    with open(labels.path) as f:
        spec = json.load(f)
    edited = copy.deepcopy(spec)
    edited['categories']['upper_body'].remove('top, t-shirt, sweatshirt')
    edited['categories']['dresses'].append('top, t-shirt, sweatshirt')
    from fashionpedia_plugin.tryon import export_photo
    instances, masks, _ = figure()
    files, _ = export_photo(
        str(tmp_path / 'b'), 'fig.jpg', img, instances, masks, ('dresscode', ), TryonLabels(edited))
    assert 'dresscode/dresses/images/fig_1.jpg' in files
    assert not any(f.startswith('dresscode/upper_body/') for f in files)


def test_tags_carry_the_sleeve_length_of_the_sleeves(grouped, tmp_path):
    from fashionpedia_plugin.tryon import load_tryon_labels, write_tags
    from fashionpedia_plugin.tryon.tags import write_tagged_json
    img, groups, _, ids = grouped
    assert write_tags(str(tmp_path), 'fig', groups, load_tryon_labels()) == ['tags/fig.json']
    data = json.load(open(tmp_path / 'tags' / 'fig.json'))['data']
    tags = {
        e['class_name']: {
            t['tag_name']: t['tag_category']
            for t in e['tag_info']
        }
        for e in data
    }
    top, pants = tags['top, t-shirt, sweatshirt'], tags['pants']
    assert top['item'] == 'top' and top['sleeveLength'] == 'Long Sleeve'  # wrist-length
    assert top['neckLine'] == 'v-neck' and top['pattern'] == 'plain pattern'
    assert top['length'] == 'hip length'  # the garment's own length, not the sleeves'
    assert pants == {'item': 'pants', 'silhouette': 'straight'}  # keys absent: not predicted
    entry = [e for e in data if e['class_name'] == 'pants'][0]
    assert entry['file_name'] == 'fig.jpg' and entry['category_name'] == 'lower_body'
    sleeve = [t for t in data[0]['tag_info'] if t['tag_name'] == 'sleeveLength'][0]
    assert sleeve['source'] == ids['sleeve_r']
    assert write_tagged_json(str(tmp_path), 'upper_body') == 'tags/vitonhd_test_tagged.json'
    tagged = json.load(open(tmp_path / 'tags' / 'vitonhd_test_tagged.json'))['data']
    assert [e['class_name'] for e in tagged] == ['top, t-shirt, sweatshirt']
