from .checkpoint import CheckpointMismatchError, check_checkpoint
from .garment_export import (build_attr_decoder, collect_images, export_image, init_model,
                             load_checked, parse_classes)
from .inferencer import FashionpediaInferencer

__all__ = [
    'CheckpointMismatchError', 'check_checkpoint', 'build_attr_decoder', 'collect_images',
    'export_image', 'init_model', 'load_checked', 'parse_classes', 'FashionpediaInferencer'
]
