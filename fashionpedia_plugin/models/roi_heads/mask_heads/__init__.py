from .official_fcn_mask_head import OfficialFCNMaskHead

__all__ = ['OfficialFCNMaskHead']
