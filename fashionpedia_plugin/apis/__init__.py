from .garment_export import collect_images, export_image, init_model, parse_classes

__all__ = ['collect_images', 'export_image', 'init_model', 'parse_classes']
