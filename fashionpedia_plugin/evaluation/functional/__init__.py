from .fp_eval import FashionpediaEval, binary_macro_f1, greedy_match

__all__ = ['FashionpediaEval', 'binary_macro_f1', 'greedy_match']
