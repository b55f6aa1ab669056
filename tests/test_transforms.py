"""Attributes stay aligned with boxes and masks through LSJ (resize + crop + filter) and flip."""
import numpy as np
import pytest
from mmcv.transforms import Compose
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks

LSJ = [
    dict(type='RandomResize', scale=(256, 256), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(
        type='RandomCrop',
        crop_type='absolute_range',
        crop_size=(256, 256),
        recompute_bbox=True,
        allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='RandomFlip', prob=0.5),
]


def make_results(rng, n=12, h=300, w=400):
    """n rectangle instances; instance i has the single attribute i (its identity)."""
    masks = np.zeros((n, h, w), np.uint8)
    boxes = []
    for i in range(n):
        bw, bh = rng.randint(4, 150), rng.randint(4, 150)
        x, y = rng.randint(0, w - bw), rng.randint(0, h - bh)
        masks[i, y:y + bh, x:x + bw] = 1
        boxes.append([x, y, x + bw, y + bh])
    attrs = np.zeros((n, 294), np.float32)
    attrs[np.arange(n), np.arange(n)] = 1
    return dict(
        img=rng.randint(0, 255, (h, w, 3)).astype(np.uint8),
        img_shape=(h, w),
        ori_shape=(h, w),
        gt_bboxes=HorizontalBoxes(np.array(boxes, np.float32)),
        gt_bboxes_labels=(np.arange(n) * 7 % 46).astype(np.int64),
        gt_ignore_flags=(np.arange(n) % 5 == 4),
        gt_masks=BitmapMasks(masks, h, w),
        gt_attributes=attrs,
        img_id=0,
        img_path='x.jpg')


@pytest.mark.parametrize('seed', range(25))
def test_lsj_flip_keeps_attributes_aligned(seed):
    np.random.seed(seed)  # mmcv/mmdet random transforms draw from numpy's global state
    rng = np.random.RandomState(seed)
    pipeline = Compose([dict(type='AlignInstanceFields', transforms=LSJ)])
    for _ in range(20):  # a crop without instances returns None (the dataset re-draws): re-draw
        res = make_results(rng)
        labels0 = res['gt_bboxes_labels'].copy()
        ignore0 = res['gt_ignore_flags'].copy()
        out = pipeline(res)
        if out is not None:
            break
    assert out is not None, 'every crop of 20 draws was empty'
    n = len(out['gt_bboxes'])
    assert out['gt_attributes'].shape == (n, 294) and len(out['gt_masks']) == n
    ident = out['gt_attributes'].argmax(1)
    assert (out['gt_attributes'].sum(1) == 1).all()
    assert (np.diff(ident) > 0).all(), 'order of instances must be preserved'
    assert (out['gt_bboxes_labels'] == labels0[ident]).all()
    assert (out['gt_ignore_flags'] == ignore0[ident]).all()
    boxes = out['gt_bboxes'].numpy()
    for r in range(n):  # recompute_bbox=True: the box is the mask's extent
        ys, xs = np.nonzero(out['gt_masks'].masks[r])
        if len(xs):
            assert np.allclose(boxes[r], [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], atol=1)


def test_crop_without_alignment_misaligns():
    """Why AlignInstanceFields exists: mmdet's RandomCrop ignores gt_attributes."""
    for seed in range(20):
        np.random.seed(seed)
        res = make_results(np.random.RandomState(seed))
        out = Compose(LSJ)(res)
        if out is not None and len(out['gt_bboxes']) != len(out['gt_attributes']):
            return
    pytest.fail('expected at least one crop that dropped instances')


def test_pack_splits_attributes_by_ignore_flag():
    res = make_results(np.random.RandomState(0), n=5)
    out = Compose([dict(type='PackFashionpediaInputs')])(res)
    gt, ign = out['data_samples'].gt_instances, out['data_samples'].ignored_instances
    assert gt.attributes.shape == (4, 294) and ign.attributes.shape == (1, 294)
    assert ign.attributes[0].argmax().item() == 4
    assert gt.attributes.argmax(1).tolist() == [0, 1, 2, 3]


def test_mmdet_tools_recognise_the_loading_pipeline():
    """mmdet's get_loading_pipeline (analyze_results.py, ...) keeps only its own loader classes:
    the configs load boxes and masks with LoadAnnotations, attributes with a transform after it."""
    from conftest import DEMO_CONFIG
    from mmdet.datasets import get_loading_pipeline
    from mmengine.config import Config
    cfg = Config.fromfile(DEMO_CONFIG)
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        types = [t['type'] for t in get_loading_pipeline(loader.dataset.pipeline)]
        assert types == ['LoadImageFromFile', 'LoadAnnotations']


def test_attribute_loader_rows_follow_the_instances():
    """After mmdet's LoadAnnotations, row i of gt_attributes is instance i's multi-hot (an
    ignored instance keeps its row; one without attributes gets zeros)."""
    from mmcv.transforms import Compose
    instances = [
        dict(
            bbox=[0, 0, 5, 5],
            bbox_label=1,
            ignore_flag=0,
            attributes=[3, 7],
            mask=[[0, 0, 5, 0, 5, 5]]),
        dict(
            bbox=[1, 1, 4, 4],
            bbox_label=2,
            ignore_flag=1,
            attributes=[],
            mask=[[1, 1, 4, 1, 4, 4]]),
        dict(
            bbox=[2, 2, 6, 6],
            bbox_label=0,
            ignore_flag=0,
            attributes=[293, 0],
            mask=[[2, 2, 6, 2, 6, 6]]),
    ]
    pipeline = Compose([
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        dict(type='LoadFashionpediaAttributes')
    ])
    out = pipeline(dict(instances=instances, img_shape=(8, 8), ori_shape=(8, 8)))
    want = np.zeros((3, 294), np.float32)
    want[0, [3, 7]] = 1
    want[2, [0, 293]] = 1
    assert out['gt_attributes'].dtype == np.float32
    assert np.array_equal(out['gt_attributes'], want)
    assert len(out['gt_bboxes']) == len(out['gt_masks']) == 3
    assert out['gt_ignore_flags'].tolist() == [False, True, False]
