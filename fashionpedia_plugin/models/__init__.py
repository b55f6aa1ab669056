from .dense_heads import OfficialRPNHead
from .necks import OfficialFPN
from .roi_heads import (AttributeConvFCBBoxHead, AttributeRoIHead, OfficialConvFCBBoxHead,
                        OfficialFCNMaskHead)
from .task_modules import AttributeDecoder

__all__ = [
    'AttributeConvFCBBoxHead', 'AttributeRoIHead', 'AttributeDecoder', 'OfficialConvFCBBoxHead',
    'OfficialFCNMaskHead', 'OfficialFPN', 'OfficialRPNHead'
]
