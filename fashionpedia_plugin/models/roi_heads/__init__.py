from .attribute_roi_head import AttributeRoIHead
from .bbox_heads import AttributeConvFCBBoxHead, OfficialConvFCBBoxHead
from .mask_heads import OfficialFCNMaskHead

__all__ = [
    'AttributeRoIHead', 'AttributeConvFCBBoxHead', 'OfficialConvFCBBoxHead', 'OfficialFCNMaskHead'
]
