"""Keep extra per-instance fields aligned through transforms that drop instances."""
import numpy as np
from mmcv.transforms import BaseTransform, Compose
from mmdet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class AlignInstanceFields(BaseTransform):
    """Run ``transforms`` and keep ``fields`` (e.g. ``gt_attributes``) row-aligned with boxes.

    Why: mmdet's instance-dropping transforms (``RandomCrop``, ``FilterAnnotations``,
    ``MinIoURandomCrop``...) filter only the keys they know (``gt_bboxes``, ``gt_bboxes_labels``,
    ``gt_masks``, ``gt_ignore_flags``). We temporarily replace ``gt_bboxes_labels`` by the row
    index ``0..N-1``; those transforms filter it like any label, so afterwards it says which
    original rows survived, in which order. Labels and ``fields`` are then re-indexed with it.

    Only transforms that keep or drop instances are supported (not ones that merge images, such as
    Mosaic or CopyPaste: they concatenate labels of other images).
    """

    def __init__(self, transforms, fields=('gt_attributes', )):
        self.transforms = Compose(transforms)
        self.fields = tuple(fields)

    def transform(self, results):
        labels = results.get('gt_bboxes_labels')
        if labels is None:
            return self.transforms(results)
        n = len(labels)
        saved = {}
        for f in self.fields:
            if f in results:
                if len(results[f]) != n:
                    raise ValueError(f'AlignInstanceFields: {f} has {len(results[f])} rows but '
                                     f'gt_bboxes_labels has {n} ({results.get("img_path")})')
                saved[f] = results[f]
        results['gt_bboxes_labels'] = np.arange(n, dtype=np.int64)
        results = self.transforms(results)
        if results is None:
            return None
        rows = np.asarray(results['gt_bboxes_labels'], dtype=np.int64)
        results['gt_bboxes_labels'] = labels[rows]
        for f, value in saved.items():
            results[f] = value[rows]
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(transforms={self.transforms}, fields={self.fields})'
