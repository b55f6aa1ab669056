from .official_rpn_head import OfficialRPNHead

__all__ = ['OfficialRPNHead']
