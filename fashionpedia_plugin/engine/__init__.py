from .hooks import InvalidLossError, InvalidLossHook, RNGStateHook, ValLossHook

__all__ = ['InvalidLossError', 'InvalidLossHook', 'RNGStateHook', 'ValLossHook']
