from .hooks import ValLossHook

__all__ = ['ValLossHook']
