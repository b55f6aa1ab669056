from .checkpoint import (CheckpointLoadError, CheckpointMismatchError, check_checkpoint,
                         load_checkpoint_file)
from .inferencer import (FashionpediaInferencer, build_attr_decoder, inference_config, init_model,
                         load_checked)

__all__ = [
    'CheckpointLoadError', 'CheckpointMismatchError', 'check_checkpoint', 'load_checkpoint_file',
    'FashionpediaInferencer', 'build_attr_decoder', 'inference_config', 'init_model', 'load_checked'
]
