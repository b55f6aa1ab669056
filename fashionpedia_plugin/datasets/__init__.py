from .fashionpedia import FashionpediaDataset
from .transforms import AlignInstanceFields, LoadFashionpediaAnnotations, PackFashionpediaInputs
from .validation import FashionpediaDataError

__all__ = [
    'FashionpediaDataset', 'FashionpediaDataError', 'AlignInstanceFields',
    'LoadFashionpediaAnnotations', 'PackFashionpediaInputs'
]
