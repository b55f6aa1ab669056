"""Loading of per-instance attributes next to boxes, labels and masks."""
from mmdet.datasets.transforms import LoadAnnotations
from mmdet.registry import TRANSFORMS

from ... import taxonomy


@TRANSFORMS.register_module()
class LoadFashionpediaAnnotations(LoadAnnotations):
    """mmdet's ``LoadAnnotations`` plus ``gt_attributes``: ``(N, 294)`` float32 multi-hot.

    Row ``i`` belongs to instance ``i`` of ``results['instances']``, like ``gt_bboxes[i]``
    (mmdet keeps instances with invalid polygons and marks them ignored, so rows stay aligned).
    Transforms that drop instances must be wrapped in ``AlignInstanceFields``.
    """

    def __init__(self, with_attr=True, **kwargs):
        super().__init__(**kwargs)
        self.with_attr = with_attr

    def transform(self, results):
        results = super().transform(results)
        if self.with_attr:
            results['gt_attributes'] = taxonomy.indices_to_multihot(
                [inst.get('attributes', []) for inst in results.get('instances', [])])
        return results

    def __repr__(self):
        return super().__repr__()[:-1] + f', with_attr={self.with_attr})'
