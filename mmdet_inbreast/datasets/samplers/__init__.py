from .seeded_sampler import SeededIndex, SeededSampler, sample_seed, seed_sample

__all__ = ['SeededIndex', 'SeededSampler', 'sample_seed', 'seed_sample']
