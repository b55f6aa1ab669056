from .functional import FashionpediaEval
from .metrics import FashionpediaMetric

__all__ = ['FashionpediaEval', 'FashionpediaMetric']
