from .fashionpedia_metric import FashionpediaMetric

__all__ = ['FashionpediaMetric']
