from .coco_backends import COCO_BACKENDS, STAT_NAMES, HotcocoGT, check_backend, coco_stats
from .fp_eval import FashionpediaEval, binary_macro_f1, summary_specs

__all__ = [
    'COCO_BACKENDS', 'STAT_NAMES', 'HotcocoGT', 'check_backend', 'coco_stats', 'FashionpediaEval',
    'binary_macro_f1', 'summary_specs'
]
