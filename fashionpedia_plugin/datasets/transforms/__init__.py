from .alignment import AlignInstanceFields
from .formatting import PackFashionpediaInputs
from .loading import LoadFashionpediaAnnotations, LoadFashionpediaAttributes

__all__ = [
    'AlignInstanceFields', 'LoadFashionpediaAnnotations', 'LoadFashionpediaAttributes',
    'PackFashionpediaInputs'
]
