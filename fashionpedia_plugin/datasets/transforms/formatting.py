"""Packing of attributes into ``DetDataSample.gt_instances``."""
from mmdet.datasets.transforms import PackDetInputs
from mmdet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackFashionpediaInputs(PackDetInputs):
    """``PackDetInputs`` that also packs ``gt_attributes`` (N, 294) as ``gt_instances.attributes``
    (and into ``ignored_instances`` for crowd/ignored instances, split by ``gt_ignore_flags``)."""

    mapping_table = dict(PackDetInputs.mapping_table, gt_attributes='attributes')
