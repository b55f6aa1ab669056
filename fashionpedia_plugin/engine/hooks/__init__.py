from .val_loss_hook import ValLossHook

__all__ = ['ValLossHook']
