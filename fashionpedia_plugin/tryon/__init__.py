from .batch import FORMATS, BatchSummary, export_photo, finish_export, parse_formats, run_batch
from .formats import cloth_crop, label_map, write_garments, write_parse
from .gallery import write_gallery
from .garments import DEFAULT_MIN_OVERLAP, GarmentGroups, group_garments
from .geometry import Letterbox
from .instances import (collect_images, decode_prediction, export_image, parse_classes, read_image,
                        write_instances)
from .labels import TRYON_CATEGORIES, TryonLabels, load_tryon_labels
from .layouts import export_name, write_dresscode, write_idm_vton, write_vitonhd
from .tags import garment_tags, write_tags

__all__ = [
    'FORMATS', 'BatchSummary', 'export_photo', 'finish_export', 'parse_formats', 'run_batch',
    'cloth_crop', 'label_map', 'write_garments', 'write_parse', 'Letterbox', 'export_name',
    'write_dresscode', 'write_idm_vton', 'write_vitonhd', 'write_gallery', 'DEFAULT_MIN_OVERLAP',
    'GarmentGroups', 'group_garments', 'collect_images', 'decode_prediction', 'export_image',
    'parse_classes', 'read_image', 'write_instances', 'TRYON_CATEGORIES', 'TryonLabels',
    'load_tryon_labels', 'garment_tags', 'write_tags'
]
