from .roi_heads import AttributeConvFCBBoxHead, AttributeRoIHead

__all__ = ['AttributeConvFCBBoxHead', 'AttributeRoIHead']
