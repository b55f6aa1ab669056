"""Differential fuzz test: what the data doctor passes, the train dataset and pipeline load.

A valid synthetic file (3 images) is mutated at random, one defect per case, over the mutation
kinds below. For every case: (a) the doctor (``--full``) never raises; (b) if it reports no
error, the train dataset builds, every sample goes through the real train pipeline (LSJ, flip,
attribute alignment), and the instances loaded equal the doctor's usable count; (c) if the
dataset refuses the file, the doctor reported an error, and the dataset's error is a named
``FashionpediaDataError`` (no traceback of another type).
"""
import copy
import json
import os
import random
import shutil

import numpy as np
import pycocotools.mask as mask_utils
import pytest

SIZE = 96
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='LoadFashionpediaAttributes'),
    dict(
        type='AlignInstanceFields',
        transforms=[
            dict(type='RandomResize', scale=(SIZE, SIZE), ratio_range=(0.5, 2.0), keep_ratio=True),
            dict(
                type='RandomCrop',
                crop_type='absolute_range',
                crop_size=(SIZE, SIZE),
                recompute_bbox=True,
                allow_negative_crop=True),
            dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackFashionpediaInputs'),
]


def _records(data, rng):
    kind = rng.choice(['images', 'annotations', 'categories', 'annotations', 'annotations'])
    return kind, rng.randrange(len(data[kind]))


def _polygon_ann(data, rng):
    anns = [a for a in data['annotations'] if isinstance(a.get('segmentation'), list)]
    return rng.choice(anns)


def _image_of(data, ann):
    return next(i for i in data['images'] if i['id'] == ann['image_id'])


def _to_rle(data, ann, compressed=True, size=None):
    img = _image_of(data, ann)
    h, w = size or (img['height'], img['width'])
    rle = mask_utils.merge(mask_utils.frPyObjects(ann['segmentation'], h, w))
    if compressed:
        return dict(size=[h, w], counts=rle['counts'].decode())
    mask = mask_utils.decode(rle).flatten(order='F')
    runs, cur, n = [], 0, 0
    for v in mask:
        if v != cur:
            runs.append(n)
            cur, n = v, 0
        n += 1
    runs.append(n)
    return dict(size=[h, w], counts=runs)


def m_drop_key(data, rng, root):
    kind, i = _records(data, rng)
    keys = list(data[kind][i])
    data[kind][i].pop(rng.choice(keys))


def m_null_value(data, rng, root):
    kind, i = _records(data, rng)
    data[kind][i][rng.choice(list(data[kind][i]))] = None


def m_wrong_type(data, rng, root):
    kind, i = _records(data, rng)
    key = rng.choice(list(data[kind][i]))
    v = data[kind][i][key]
    data[kind][i][key] = str(v) if not isinstance(v, str) else [v]


def m_null_top_level(data, rng, root):
    data[rng.choice(['images', 'annotations', 'categories'])] = None


def m_not_an_object(data, rng, root):
    kind, i = _records(data, rng)
    data[kind][i] = rng.choice([7, 'x', None, [1, 2]])


def m_odd_polygon(data, rng, root):
    _polygon_ann(data, rng)['segmentation'][0].pop()


def m_short_polygon(data, rng, root):
    ann = _polygon_ann(data, rng)
    ann['segmentation'] = [ann['segmentation'][0][:rng.choice([0, 2, 4])]]


def m_string_coordinate(data, rng, root):
    _polygon_ann(data, rng)['segmentation'][0][0] = 'nan'


def m_unknown_category(data, rng, root):
    rng.choice(data['annotations'])['category_id'] = rng.choice([46, 99, -1, 2.5])


def m_unknown_attribute(data, rng, root):
    rng.choice(data['annotations'])['attribute_ids'] = [rng.choice([999, 295, -3])]


def m_unknown_image(data, rng, root):
    rng.choice(data['annotations'])['image_id'] = 10**9


def m_duplicate_id(data, rng, root):
    kind = rng.choice(['images', 'annotations'])
    data[kind][1]['id'] = data[kind][0]['id']


def m_negative_box(data, rng, root):
    ann = rng.choice(data['annotations'])
    ann['bbox'][rng.choice([2, 3])] = -rng.uniform(1, 50)


def m_huge_box(data, rng, root):
    ann = rng.choice(data['annotations'])
    ann['bbox'] = rng.choice([[-1e6, -1e6, 2e6, 2e6], [1e5, 1e5, 10, 10], [0, 0, 1e9, 1e9]])


def m_nan_box(data, rng, root):
    rng.choice(data['annotations'])['bbox'][0] = float('nan')


def m_zero_area(data, rng, root):
    rng.choice(data['annotations'])['area'] = rng.choice([0, -5])


def m_crowd(data, rng, root):
    rng.choice(data['annotations'])['iscrowd'] = rng.choice([1, 2, True, 'yes'])


def m_valid_rle(data, rng, root):  # a control: a correct RLE in place of a polygon
    ann = _polygon_ann(data, rng)
    ann['segmentation'] = _to_rle(data, ann, compressed=rng.random() < 0.5)


def m_rle_size_mismatch(data, rng, root):
    ann = _polygon_ann(data, rng)
    ann['segmentation'] = _to_rle(data, ann, rng.random() < 0.5, size=(SIZE + 8, SIZE - 8))


def m_truncated_rle(data, rng, root):
    ann = _polygon_ann(data, rng)
    rle = _to_rle(data, ann)
    rle['counts'] = rle['counts'][:rng.randrange(1, max(2, len(rle['counts']) - 1))]
    ann['segmentation'] = rle


def m_rle_wrong_counts(data, rng, root):
    ann = _polygon_ann(data, rng)
    rle = _to_rle(data, ann, compressed=False)
    rle['counts'][rng.randrange(len(rle['counts']))] += rng.choice([1, -1, 1000])
    ann['segmentation'] = rle


def m_rle_bad_counts_type(data, rng, root):
    ann = _polygon_ann(data, rng)
    ann['segmentation'] = dict(size=[SIZE, SIZE], counts=rng.choice([None, 12, [1.5, 2]]))


def m_missing_image(data, rng, root):
    os.remove(os.path.join(root, 'train', rng.choice(data['images'])['file_name']))


def m_corrupt_image(data, rng, root):
    path = os.path.join(root, 'train', rng.choice(data['images'])['file_name'])
    raw = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(rng.choice([raw[:len(raw) // 3], bytes(rng.randrange(256) for _ in range(200))]))


def m_wrong_image_size(data, rng, root):
    rng.choice(data['images'])[rng.choice(['width', 'height'])] = rng.choice([SIZE + 10, 0, -4])


MUTATIONS = {name[2:]: f for name, f in sorted(globals().items()) if name.startswith('m_')}


@pytest.fixture(scope='module')
def base(tmp_path_factory):
    from fashionpedia_plugin.toolkit import synthetic
    root = str(tmp_path_factory.mktemp('fuzzbase'))
    synthetic.generate(root, num_train=3, num_val=0, size=SIZE, seed=3)
    return root, json.load(
        open(os.path.join(root, 'annotations', 'instances_attributes_train2020.json')))


def run_case(base, tmp_path, seed):
    from mmdet.registry import DATASETS

    from fashionpedia_plugin.datasets import FashionpediaDataError
    from fashionpedia_plugin.toolkit.doctor import diagnose
    root_src, data0 = base
    rng = random.Random(seed)
    kind = sorted(MUTATIONS)[seed % len(MUTATIONS)]
    root = str(tmp_path / f'case{seed}')
    shutil.copytree(os.path.join(root_src, 'train'), os.path.join(root, 'train'))
    data = copy.deepcopy(data0)
    MUTATIONS[kind](data, rng, root)
    ann = os.path.join(root, 'ann.json')
    with open(ann, 'w') as f:
        json.dump(data, f)
    # (a) the doctor never raises
    findings, report = diagnose(data, ann, os.path.join(root, 'train'), 'full', progress=False)
    errors = [f for f in findings if f.severity == 'error']
    try:
        ds = DATASETS.build(
            dict(
                type='FashionpediaDataset',
                ann_file=ann,
                data_prefix=dict(img=root + '/train/'),
                filter_cfg=dict(filter_empty_gt=True, min_size=32),
                pipeline=PIPELINE))
    except FashionpediaDataError as e:
        # (c) refused at init -> the doctor said so
        assert errors, f'{kind} (seed {seed}): the dataset refused it, the doctor did not: {e}'
        return kind, 'refused'
    if errors:
        return kind, 'doctor error, loader built'  # the loader may build; the doctor is stricter
    # (b) a file the doctor passes loads completely
    loaded = sum(len(ds.get_data_info(i)['instances']) for i in range(len(ds)))
    assert loaded == report.usable, (kind, seed, loaded, report.usable)
    np.random.seed(seed)
    for i in range(len(ds)):
        out = ds[i]
        assert out['data_samples'].gt_instances.attributes.shape[1] == 294
    return kind, 'loaded'


def test_doctor_and_loader_agree_on_mutated_files(base, tmp_path):
    outcomes = {}
    for seed in range(len(MUTATIONS) * 10):
        kind, outcome = run_case(base, tmp_path, seed)
        outcomes.setdefault(kind, set()).add(outcome)
    assert set(outcomes) == set(MUTATIONS)
    # the controls and skip-only defects load; the damaging ones are refused
    assert outcomes['valid_rle'] == {'loaded'}
    for kind in ('odd_polygon', 'rle_size_mismatch', 'truncated_rle', 'unknown_category',
                 'null_top_level', 'not_an_object', 'missing_image'):
        assert 'loaded' not in outcomes[kind], (kind, outcomes[kind])
    print({k: sorted(v) for k, v in outcomes.items()})


def test_odd_polygon_is_named_for_what_it_is(base):
    from fashionpedia_plugin.datasets.validation import check_annotations
    data = copy.deepcopy(base[1])
    data['annotations'][0]['segmentation'][0].pop()
    rep = check_annotations(data, 'x.json')
    assert [f.kind for f in rep.errors] == ['malformed polygon']
    assert 'odd number of coordinates' in rep.errors[0].message
    assert f'annotation id {data["annotations"][0]["id"]}' in rep.errors[0].message
