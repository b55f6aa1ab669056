from .channels_last_hook import ChannelsLastHook
from .checkpoint_provenance_hook import CheckpointProvenanceHook, evaluated_split
from .invalid_loss_hook import InvalidLossError, InvalidLossHook
from .resume_checks import ScheduleMismatchError
from .rng_state_hook import RNGStateHook
from .val_loss_hook import ValLossHook
from .weights_only_checkpoint_hook import WeightsOnlyCheckpointHook

__all__ = [
    'ChannelsLastHook', 'CheckpointProvenanceHook', 'ScheduleMismatchError', 'evaluated_split',
    'InvalidLossError', 'InvalidLossHook', 'RNGStateHook', 'ValLossHook',
    'WeightsOnlyCheckpointHook'
]
