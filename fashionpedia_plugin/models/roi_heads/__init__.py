from .attribute_roi_head import AttributeRoIHead
from .bbox_heads import AttributeConvFCBBoxHead

__all__ = ['AttributeRoIHead', 'AttributeConvFCBBoxHead']
