from .hooks import (ChannelsLastHook, CheckpointProvenanceHook, InvalidLossError, InvalidLossHook,
                    RNGStateHook, ScheduleMismatchError, ValLossHook, WeightsOnlyCheckpointHook,
                    evaluated_split)

__all__ = [
    'ChannelsLastHook', 'CheckpointProvenanceHook', 'InvalidLossError', 'InvalidLossHook',
    'RNGStateHook', 'ScheduleMismatchError', 'ValLossHook', 'WeightsOnlyCheckpointHook',
    'evaluated_split'
]
