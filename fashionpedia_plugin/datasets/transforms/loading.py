"""Loading of per-instance attributes next to boxes, labels and masks."""
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS

from ... import taxonomy


def multihot_of_instances(results):
    """``(N, 294)`` float32 multi-hot of ``results['instances']``, in instance order."""
    return taxonomy.indices_to_multihot(
        [inst.get('attributes', []) for inst in results.get('instances', [])])


@TRANSFORMS.register_module()
class LoadFashionpediaAttributes(BaseTransform):
    """Add ``gt_attributes``: ``(N, 294)`` float32 multi-hot, placed after mmdet's own
    ``LoadAnnotations`` (which mmdet's tools recognise, e.g. ``analyze_results.py`` through
    ``mmdet.datasets.get_loading_pipeline``).

    Row ``i`` belongs to instance ``i`` of ``results['instances']``, like ``gt_bboxes[i]``
    (mmdet keeps instances with invalid polygons and marks them ignored, so rows stay aligned).
    Transforms that drop instances must be wrapped in ``AlignInstanceFields``.
    """

    def transform(self, results):
        results['gt_attributes'] = multihot_of_instances(results)
        return results
