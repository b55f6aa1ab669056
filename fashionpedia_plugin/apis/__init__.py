from .garment_export import (build_attr_decoder, collect_images, export_image, init_model,
                             parse_classes)

__all__ = ['build_attr_decoder', 'collect_images', 'export_image', 'init_model', 'parse_classes']
