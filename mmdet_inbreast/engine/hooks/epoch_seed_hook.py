"""EpochSeedHook: random augmentation that depends only on (seed, epoch)."""
from __future__ import annotations

import torch
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.registry import FUNCTIONS
from mmdet.registry import HOOKS

from ...utils.seeding import derive_seed, seed_numpy_and_random


def epoch_seed(seed: int, epoch: int) -> int:
    """A 32-bit seed for ``epoch`` of a run seeded with ``seed``."""
    return derive_seed(seed, epoch)


@FUNCTIONS.register_module()
def inbreast_worker_init_fn(worker_id: int) -> None:
    """Seed numpy and ``random`` in a loader worker from torch's seed of
    that worker.

    PyTorch gives every worker ``base_seed + worker_id``, with ``base_seed``
    drawn from the main process' torch generator each time workers start
    (every epoch with ``persistent_workers=False``). mmengine's default
    seeds numpy with ``seed + worker_id`` instead, the same numbers every
    epoch, so a random crop repeats its stream each epoch. Here numpy
    follows torch: fresh every epoch and, with :class:`EpochSeedHook`,
    a function of (seed, epoch, rank, worker) only. Use it with
    ``worker_init_fn=dict(type='inbreast_worker_init_fn')``.

    Args:
        worker_id (int): The worker's index.
    """
    rank, _ = get_dist_info()
    seed_numpy_and_random((torch.initial_seed() + 1_000_003 * rank) % 2**32)


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Reseed numpy, ``random`` and torch at the start of every training
    epoch from (the run's seed, epoch).

    The crops of :class:`MassPreservingRandomCrop` (like every mmcv
    transform) draw from numpy's global generator, whose state a checkpoint
    does not hold. The project's training loaders use
    :class:`~mmdet_inbreast.datasets.SeededSampler`, which seeds every
    sample from (seed, epoch, index), with workers persistent or not. This
    hook covers the rest: anything else in the main process that draws
    from these generators, and datasets that do not take the sampler's
    seeds (with non-persistent workers using :func:`inbreast_worker_init_fn`,
    or ``num_workers=0``). Together, resuming from an epoch checkpoint
    gives the same weights as not stopping.
    """

    priority = 'VERY_HIGH'

    def before_train_epoch(self, runner) -> None:
        """Reseed from (``runner.seed``, ``runner.epoch``)."""
        seed = epoch_seed(runner.seed, runner.epoch)
        seed_numpy_and_random(seed)
        torch.manual_seed(seed)
