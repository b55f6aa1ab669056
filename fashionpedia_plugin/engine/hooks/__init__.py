from .invalid_loss_hook import InvalidLossError, InvalidLossHook
from .rng_state_hook import RNGStateHook
from .val_loss_hook import ValLossHook

__all__ = ['InvalidLossError', 'InvalidLossHook', 'RNGStateHook', 'ValLossHook']
