from .attribute_decoder import AttributeDecoder

__all__ = ['AttributeDecoder']
