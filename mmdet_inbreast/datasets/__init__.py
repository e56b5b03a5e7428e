from .inbreast import INbreastDataset
from .mass_repeat import MassRepeatDataset
from .transforms import *  # noqa: F401,F403

__all__ = ['INbreastDataset', 'MassRepeatDataset']
