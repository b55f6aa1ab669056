from .attribute_convfc_bbox_head import AttributeConvFCBBoxHead

__all__ = ['AttributeConvFCBBoxHead']
