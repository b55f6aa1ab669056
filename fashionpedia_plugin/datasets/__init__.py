from . import taxonomy
from .fashionpedia import FashionpediaDataset
from .transforms import AlignInstanceFields, LoadFashionpediaAnnotations, PackFashionpediaInputs
from .validation import FashionpediaDataError

__all__ = [
    'taxonomy', 'FashionpediaDataset', 'FashionpediaDataError', 'AlignInstanceFields',
    'LoadFashionpediaAnnotations', 'PackFashionpediaInputs'
]
