from .fashionpedia import FashionpediaDataset
from .transforms import AlignInstanceFields, LoadFashionpediaAttributes, PackFashionpediaInputs
from .validation import FashionpediaDataError

__all__ = [
    'FashionpediaDataset', 'FashionpediaDataError', 'AlignInstanceFields',
    'LoadFashionpediaAttributes', 'PackFashionpediaInputs'
]
