from .fashionpedia import FashionpediaDataset
from .transforms import (AlignInstanceFields, LoadFashionpediaAnnotations,
                         LoadFashionpediaAttributes, PackFashionpediaInputs)
from .validation import FashionpediaDataError

__all__ = [
    'FashionpediaDataset', 'FashionpediaDataError', 'AlignInstanceFields',
    'LoadFashionpediaAnnotations', 'LoadFashionpediaAttributes', 'PackFashionpediaInputs'
]
