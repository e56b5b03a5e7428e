from .base_mammo import BaseMammoDataset
from .inbreast import INbreastDataset
from .mass_repeat import MassRepeatDataset
from .samplers import SeededIndex, SeededSampler, sample_seed, seed_sample
from .transforms import *  # noqa: F401,F403
from .vindr_mammo import VinDrMammoDataset

__all__ = ['BaseMammoDataset', 'INbreastDataset', 'MassRepeatDataset',
           'SeededIndex', 'SeededSampler', 'VinDrMammoDataset',
           'sample_seed', 'seed_sample']
