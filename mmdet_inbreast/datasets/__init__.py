from .inbreast import INbreastDataset
from .mass_repeat import MassRepeatDataset
from .samplers import SeededIndex, SeededSampler, sample_seed, seed_sample
from .transforms import *  # noqa: F401,F403

__all__ = ['INbreastDataset', 'MassRepeatDataset', 'SeededIndex',
           'SeededSampler', 'sample_seed', 'seed_sample']
