from .crop import MassPreservingRandomCrop
from .loading import LoadDicomImage
from .normalize import ZeroIgnoringNormalize

__all__ = ['LoadDicomImage', 'MassPreservingRandomCrop', 'ZeroIgnoringNormalize']
