from .alignment import AlignInstanceFields
from .formatting import PackFashionpediaInputs
from .loading import LoadFashionpediaAttributes

__all__ = ['AlignInstanceFields', 'LoadFashionpediaAttributes', 'PackFashionpediaInputs']
