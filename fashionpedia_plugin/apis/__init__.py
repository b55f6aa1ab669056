from .batch_export import FORMATS, BatchSummary, parse_formats, run_batch
from .checkpoint import CheckpointMismatchError, check_checkpoint
from .gallery import write_gallery
from .garment_export import (build_attr_decoder, collect_images, decode_prediction, export_image,
                             inference_config, init_model, load_checked, parse_classes, read_image,
                             write_instances)
from .garments import DEFAULT_MIN_OVERLAP, GarmentGroups, group_garments
from .inferencer import FashionpediaInferencer
from .tryon_formats import (cloth_crop, label_map, write_dresscode, write_garments, write_parse,
                            write_vitonhd)
from .tryon_labels import TRYON_CATEGORIES, TryonLabels, load_tryon_labels
from .tryon_tags import garment_tags, write_tags

__all__ = [
    'CheckpointMismatchError', 'check_checkpoint', 'build_attr_decoder', 'collect_images',
    'export_image', 'init_model', 'load_checked', 'parse_classes', 'FashionpediaInferencer',
    'decode_prediction', 'inference_config', 'read_image', 'write_instances', 'FORMATS',
    'BatchSummary', 'parse_formats', 'run_batch', 'write_gallery', 'DEFAULT_MIN_OVERLAP',
    'GarmentGroups', 'group_garments', 'cloth_crop', 'label_map', 'write_dresscode',
    'write_garments', 'write_parse', 'write_vitonhd', 'TRYON_CATEGORIES', 'TryonLabels',
    'load_tryon_labels', 'garment_tags', 'write_tags'
]
