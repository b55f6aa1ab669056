from .attribute_convfc_bbox_head import AttributeConvFCBBoxHead
from .official_convfc_bbox_head import OfficialConvFCBBoxHead

__all__ = ['AttributeConvFCBBoxHead', 'OfficialConvFCBBoxHead']
