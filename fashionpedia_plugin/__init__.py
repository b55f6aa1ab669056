"""Fashionpedia plugin for MMDetection 3.x: dataset, transforms, Attribute-Mask R-CNN head,
attribute-aware metric and hooks, registered with mmdet's registries.

Pulled into a config with ``custom_imports = dict(imports=['fashionpedia_plugin'])``.
Importing it only registers components: no function of torch, mmengine or mmdet is replaced
(:mod:`fashionpedia_plugin.compat` says where each upstream workaround lives).
The tool floor (:mod:`fashionpedia_plugin.toolkit`) is not imported here.
"""
from .datasets import *  # noqa: F401,F403
from .engine import *  # noqa: F401,F403
from .evaluation import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403
from .version import __version__
from .visualization import *  # noqa: F401,F403

__all__ = ['__version__']
