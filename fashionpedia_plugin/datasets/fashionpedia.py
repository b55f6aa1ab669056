"""``FashionpediaDataset``: COCO-style instances plus per-instance fine-grained attributes."""
import copy
import os.path as osp
from collections import Counter

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS
from mmengine.logging import print_log

from .. import taxonomy
from .validation import (FashionpediaDataError, check_annotations, load_annotation_json,
                         nested_image_folder)


@DATASETS.register_module()
class FashionpediaDataset(CocoDataset):
    """Fashionpedia ``instances_attributes_{train,val}2020.json`` (46 classes, 294 attributes).

    Each parsed instance carries, next to mmdet's ``bbox``/``bbox_label``/``mask``/
    ``ignore_flag`` (``iscrowd``), an ``attributes`` list of contiguous attribute indices
    (0..293, ascending official sparse id). ``LoadFashionpediaAttributes`` turns them into a
    ``(N, 294)`` multi-hot ``gt_attributes``.

    The annotation file is validated when the dataset is built: a missing or malformed file,
    unknown category or attribute ids, duplicate ids and (with ``check_image_files``) missing
    images raise :class:`FashionpediaDataError` naming the file and the id, before training
    starts. Degenerate boxes/masks are skipped, counted by reason and logged once.

    Args:
        check_image_files (bool): stat every image at load time (one stat per image).
        skip_bad_images (bool): an image that fails to load during training (corrupt file) is
            skipped, counted and named in the log, and another sample is drawn; ``False``
            (default) fails fast with an error naming the file. Test mode always fails fast.
    """

    METAINFO = dict(
        classes=taxonomy.CLASSES,
        palette=taxonomy.palette(),
        attribute_ids=taxonomy.ATTRIBUTE_IDS,
        attribute_names=taxonomy.ATTRIBUTE_NAMES,
        attribute_supercategories=taxonomy.ATTRIBUTE_SUPERCATEGORIES,
        categories_with_attributes=taxonomy.CATEGORIES_WITH_ATTRIBUTES,
    )

    def __init__(self, *args, check_image_files=True, skip_bad_images=False, **kwargs):
        self.check_image_files = check_image_files
        self.skip_bad_images = skip_bad_images
        self.skipped_annotations = Counter()
        self.bad_images = Counter()  # path -> times skipped (per worker process)
        super().__init__(*args, **kwargs)

    def prepare_data(self, idx):
        try:
            return super().prepare_data(idx)
        except Exception as e:  # mmcv raises AssertionError/OSError/cv2.error for bad files
            path = self.get_data_info(idx).get('img_path')
            if not self.skip_bad_images or self.test_mode:
                raise FashionpediaDataError(
                    f'{path}: failed to load or transform (index {idx}): '
                    f'{e.__class__.__name__}: {e}. Set skip_bad_images=True on the train '
                    f'dataset to skip and count such images.') from e
            self.bad_images[path] += 1
            if self.bad_images[path] == 1:
                print_log(
                    f'skipping unreadable image {path} ({e.__class__.__name__}: {e}); '
                    f'{len(self.bad_images)} bad image(s) so far in this process',
                    logger='current',
                    level=30)
            return None  # BaseDataset draws another index in training mode

    def load_data_list(self):
        data = load_annotation_json(self.ann_file)
        report = check_annotations(data, self.ann_file)
        if report.errors:
            raise FashionpediaDataError(report.summary(self.ann_file))
        for finding in report.warnings[:5]:
            print_log(finding.message, logger='current', level=30)
        self._skip_reasons = report.skip_reasons
        data_list = self._parse_coco(data)
        if self.check_image_files:
            self._check_image_files(data_list)
        total = sum(self.skipped_annotations.values())
        detail = ', '.join(f'{n} {r}' for r, n in self.skipped_annotations.most_common())
        # the same counts as the data doctor's summary line
        print_log(
            f'{self.ann_file}: usable instances: {report.num_annotations - total}; skipped: '
            f'{total}' + (f' ({detail})' if total else ''),
            logger='current',
            level=30 if total else 20)
        return data_list

    def _check_image_files(self, data_list):
        missing = [d['img_path'] for d in data_list if not osp.isfile(d['img_path'])]
        if not missing:
            return
        img_dir = osp.dirname(missing[0])
        sub = nested_image_folder(img_dir, osp.basename(missing[0]))
        hint = ''
        if sub is not None:
            # data_prefix is joined to data_root, so the hint is relative to it
            prefix = osp.join(img_dir, sub)
            if self.data_root:
                prefix = osp.relpath(prefix, self.data_root)
            hint = (f' The images sit one folder deeper: set '
                    f"data_prefix=dict(img='{prefix}/') on this dataset.")
        raise FashionpediaDataError(
            f'{self.ann_file}: {len(missing)} of {len(data_list)} image files not found, '
            f'first: {missing[0]}.{hint}')

    def _parse_coco(self, data):
        """``CocoDataset.load_data_list`` on the already-read JSON (no second read)."""
        self.coco = self.COCOAPI()
        self.coco.dataset = data
        self.coco.createIndex()
        # mmdet's COCO wrapper aliases these in __init__, before our createIndex
        self.coco.img_ann_map, self.coco.cat_img_map = self.coco.imgToAnns, self.coco.catToImgs
        names = self.metainfo['classes']
        if all(n in taxonomy.CLASSES for n in names):
            # by official id: a category the file names differently (a warning of the check)
            # still maps to its class instead of being dropped
            self.cat_ids = [taxonomy.CLASSES.index(n) for n in names]
        else:
            self.cat_ids = self.coco.get_cat_ids(cat_names=names)
        self.cat2label = {cat_id: i for i, cat_id in enumerate(self.cat_ids)}
        self.cat_img_map = copy.deepcopy(self.coco.cat_img_map)  # a defaultdict
        data_list = []
        for img_id in self.coco.get_img_ids():
            raw_img_info = dict(self.coco.load_imgs([img_id])[0], img_id=img_id)
            raw_ann_info = self.coco.load_anns(self.coco.get_ann_ids(img_ids=[img_id]))
            data_list.append(
                self.parse_data_info(dict(raw_ann_info=raw_ann_info, raw_img_info=raw_img_info)))
        del self.coco
        return data_list

    def parse_data_info(self, raw_data_info):
        """Like ``CocoDataset.parse_data_info`` plus ``attributes``; skips are counted."""
        img_info = raw_data_info['raw_img_info']
        data_info = dict(
            img_path=osp.join(self.data_prefix['img'], img_info['file_name']),
            img_id=img_info['img_id'],
            seg_map_path=None,
            height=img_info['height'],
            width=img_info['width'])
        instances = []
        for ann in raw_data_info['raw_ann_info']:
            reason = self._skip_reasons.get(ann['id'])  # found by check_annotations
            if reason is not None:
                self.skipped_annotations[reason] += 1
                continue
            if ann['category_id'] not in self.cat2label:
                self.skipped_annotations['category not in metainfo classes'] += 1
                continue
            x1, y1, w, h = ann['bbox']
            instances.append(
                dict(
                    bbox=[x1, y1, x1 + w, y1 + h],
                    bbox_label=self.cat2label[ann['category_id']],
                    ignore_flag=1 if ann.get('iscrowd', False) else 0,
                    mask=ann['segmentation'],
                    attributes=taxonomy.attribute_ids_to_indices(ann.get('attribute_ids') or [])))
        data_info['instances'] = instances
        return data_info
