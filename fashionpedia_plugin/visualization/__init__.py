from .fashionpedia_visualizer import FashionpediaVisualizer

__all__ = ['FashionpediaVisualizer']
