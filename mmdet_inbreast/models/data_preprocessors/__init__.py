from .background_pad import BackgroundPadDetDataPreprocessor

__all__ = ['BackgroundPadDetDataPreprocessor']
