from .roi_heads import AttributeConvFCBBoxHead, AttributeRoIHead
from .task_modules import AttributeDecoder

__all__ = ['AttributeConvFCBBoxHead', 'AttributeRoIHead', 'AttributeDecoder']
