from .hooks import (CheckpointProvenanceHook, InvalidLossError, InvalidLossHook, RNGStateHook,
                    ScheduleMismatchError, ValLossHook, WeightsOnlyCheckpointHook, evaluated_split)

__all__ = [
    'CheckpointProvenanceHook', 'InvalidLossError', 'InvalidLossHook', 'RNGStateHook',
    'ScheduleMismatchError', 'ValLossHook', 'WeightsOnlyCheckpointHook', 'evaluated_split'
]
