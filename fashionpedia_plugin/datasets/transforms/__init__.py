from .alignment import AlignInstanceFields
from .formatting import PackFashionpediaInputs
from .loading import LoadFashionpediaAnnotations

__all__ = ['AlignInstanceFields', 'LoadFashionpediaAnnotations', 'PackFashionpediaInputs']
