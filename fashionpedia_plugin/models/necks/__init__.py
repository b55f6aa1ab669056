from .official_fpn import OfficialFPN

__all__ = ['OfficialFPN']
