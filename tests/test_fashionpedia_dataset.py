"""FashionpediaDataset on the real shared sample, synthetic data and bad inputs."""
import copy
import json
import os.path as osp
import shutil

import numpy as np
import pytest

from fashionpedia_plugin import taxonomy
from fashionpedia_plugin.datasets import FashionpediaDataError, FashionpediaDataset
from fashionpedia_plugin.toolkit.synthetic import SYNTHETIC_CATEGORIES


def build(ann_file, img_dir, **kw):
    return FashionpediaDataset(
        ann_file=ann_file, data_prefix=dict(img=img_dir), pipeline=[], test_mode=True, **kw)


def test_real_sample_loads_with_attributes(sample_dir):
    ann = osp.join(sample_dir, 'sample_final_taxonomy.json')
    ds = build(ann, osp.join(sample_dir, 'images'))
    assert len(ds) == 2
    raw = json.load(open(ann))
    by_img = {}
    for a in raw['annotations']:
        by_img.setdefault(a['image_id'], []).append(a)
    n = 0
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        anns = by_img[info['img_id']]
        assert len(info['instances']) == len(anns)
        for inst, a in zip(info['instances'], anns):
            assert taxonomy.CLASSES[inst['bbox_label']] == taxonomy.CLASSES[a['category_id']]
            got = sorted(taxonomy.ATTRIBUTE_IDS[j] for j in inst['attributes'])
            assert got == sorted(a['attribute_ids'])
            n += 1
    assert n == 12
    assert ds.metainfo['classes'] == taxonomy.CLASSES
    assert list(ds.metainfo['attribute_ids']) == list(taxonomy.ATTRIBUTE_IDS)


def test_real_sample_through_pipeline(sample_dir):
    ann = osp.join(sample_dir, 'sample_final_taxonomy.json')
    ds = FashionpediaDataset(
        ann_file=ann,
        data_prefix=dict(img=osp.join(sample_dir, 'images')),
        test_mode=True,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
            dict(type='LoadFashionpediaAttributes'),
            dict(type='PackFashionpediaInputs')
        ])
    out = ds[1]
    gt = out['data_samples'].gt_instances
    raw = [a for a in json.load(open(ann))['annotations'] if a['image_id'] == 10223]
    assert gt.attributes.shape == (len(raw), 294)
    for row, a in zip(gt.attributes, raw):
        assert taxonomy.multihot_to_attribute_ids(row.numpy()) == sorted(a['attribute_ids'])
    assert gt.masks.masks.shape[0] == len(raw)


def test_synthetic_round_trip(synthetic_root):
    ann = osp.join(synthetic_root, 'annotations', 'instances_attributes_train2020.json')
    raw = json.load(open(ann))
    ds = build(ann, osp.join(synthetic_root, 'train'))
    assert len(ds) == 12
    assert sum(len(ds.get_data_info(i)['instances']) for i in range(len(ds))) == \
        len(raw['annotations'])
    assert {a['category_id'] for a in raw['annotations']} <= set(SYNTHETIC_CATEGORIES)
    for a in raw['annotations']:
        assert set(a['attribute_ids']) <= set(taxonomy.ATTRIBUTE_IDS)
        if a['category_id'] not in taxonomy.CATEGORIES_WITH_ATTRIBUTES:
            assert a['attribute_ids'] == []
    # deterministic: same seed, same bytes
    from fashionpedia_plugin.toolkit import synthetic
    img1, inst1 = synthetic.render_image(7)
    img2, inst2 = synthetic.render_image(7)
    assert np.array_equal(img1, img2) and len(inst1) == len(inst2)


@pytest.fixture
def sample_copy(sample_dir, tmp_path):
    shutil.copytree(osp.join(sample_dir, 'images'), tmp_path / 'images')
    data = json.load(open(osp.join(sample_dir, 'sample_final_taxonomy.json')))
    return tmp_path, data


def _write(tmp_path, data, name='ann.json'):
    p = tmp_path / name
    p.write_text(json.dumps(data))
    return str(p)


def test_missing_annotation_file(tmp_path):
    with pytest.raises(FashionpediaDataError, match='annotation file not found'):
        build(str(tmp_path / 'nope.json'), str(tmp_path))


def test_malformed_json(tmp_path):
    p = tmp_path / 'bad.json'
    p.write_text('{"images": [1, 2,,]}')
    with pytest.raises(FashionpediaDataError, match=r'bad\.json: malformed JSON at line 1'):
        build(str(p), str(tmp_path))


def test_unknown_category_id(sample_copy):
    tmp, data = sample_copy
    data['annotations'][3]['category_id'] = 99
    with pytest.raises(FashionpediaDataError, match=r'annotation id 19 .*unknown category_id 99'):
        build(_write(tmp, data), str(tmp / 'images'))


def test_unknown_attribute_id(sample_copy):
    tmp, data = sample_copy
    data['annotations'][2]['attribute_ids'] = [115, 999]
    with pytest.raises(FashionpediaDataError, match=r'annotation id 18 .*\[999\] not in the'):
        build(_write(tmp, data), str(tmp / 'images'))


def test_missing_image_file_names_it_and_suggests_prefix(sample_copy):
    tmp, data = sample_copy
    (tmp / 'images' / 'test').mkdir()
    for f in (tmp / 'images').glob('*.jpg'):
        shutil.move(str(f), str(tmp / 'images' / 'test' / f.name))
    with pytest.raises(
            FashionpediaDataError,
            match=r"000000009813\.jpg.*data_prefix=dict\(img='.*"
            r"images/test/'\)"):
        build(_write(tmp, data), str(tmp / 'images'))


def test_degenerate_geometry_is_skipped_counted_and_reported(sample_copy):
    tmp, data = sample_copy
    data = copy.deepcopy(data)
    data['annotations'][0]['bbox'] = [10, 10, 0, 5]  # zero width
    data['annotations'][1]['segmentation'] = [[1, 2, 3, 4]]  # polygon with 2 points
    ds = build(_write(tmp, data), str(tmp / 'images'))
    assert sum(len(ds.get_data_info(i)['instances']) for i in range(len(ds))) == 10
    assert sum(ds.skipped_annotations.values()) == 2
    assert ds.skipped_annotations == {
        'bbox outside the image': 1,
        'empty mask (no polygon with >= 3 points)': 1
    }


def _dataset_with_a_corrupt_image(synthetic_root, tmp_path, **kwargs):
    """A copy of the synthetic train set whose middle image is a broken JPEG."""
    import shutil

    from fashionpedia_plugin.datasets import FashionpediaDataset
    root = tmp_path / 'ds'
    shutil.copytree(synthetic_root, root)
    ann = json.loads((root / 'annotations' / 'instances_attributes_train2020.json').read_text())
    bad = ann['images'][len(ann['images']) // 2]['file_name']
    (root / 'train' / bad).write_bytes(b'\xff\xd8 broken jpeg')
    ds = FashionpediaDataset(
        data_root=str(root) + '/',
        ann_file='annotations/instances_attributes_train2020.json',
        data_prefix=dict(img='train/'),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='PackFashionpediaInputs')],
        **kwargs)
    return ds, root, bad


def test_corrupt_image_fails_fast_by_name(synthetic_root, tmp_path):
    from fashionpedia_plugin.datasets import FashionpediaDataError
    ds, _, bad = _dataset_with_a_corrupt_image(synthetic_root, tmp_path)
    with pytest.raises(FashionpediaDataError, match=bad):
        for i in range(len(ds)):
            ds[i]


def test_corrupt_image_skipped_and_counted(synthetic_root, tmp_path):
    ds, root, bad = _dataset_with_a_corrupt_image(synthetic_root, tmp_path, skip_bad_images=True)
    samples = [ds[i] for i in range(len(ds))]
    assert all(s is not None for s in samples)
    assert list(ds.bad_images) == [str(root / 'train' / bad)]
