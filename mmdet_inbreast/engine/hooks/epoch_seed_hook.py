"""EpochSeedHook: random augmentation that depends only on (seed, epoch)."""
from __future__ import annotations

import random

import numpy as np
import torch
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.registry import FUNCTIONS
from mmdet.registry import HOOKS


def epoch_seed(seed: int, epoch: int) -> int:
    """A 32-bit seed for ``epoch`` of a run seeded with ``seed``."""
    return int(np.random.SeedSequence([int(seed) % 2**32,
                                       int(epoch)]).generate_state(1)[0])


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
    seed = (torch.initial_seed() + 1_000_003 * rank) % 2**32
    np.random.seed(seed)
    random.seed(seed)


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Reseed numpy, ``random`` and torch at the start of every training
    epoch from (the run's seed, epoch).

    The crops of :class:`MassPreservingRandomCrop` (like every mmcv
    transform) draw from numpy's global generator, whose state a checkpoint
    does not hold; without this hook a run resumed from an epoch checkpoint
    sees other crops than the uninterrupted run, and ends with other
    weights. With it (and non-persistent workers using
    :func:`inbreast_worker_init_fn`, or ``num_workers=0``), resuming gives
    the same weights as not stopping.
    """

    priority = 'VERY_HIGH'

    def before_train_epoch(self, runner) -> None:
        """Reseed from (``runner.seed``, ``runner.epoch``)."""
        seed = epoch_seed(runner.seed, runner.epoch)
        np.random.seed(seed)
        random.seed(seed)
        torch.manual_seed(seed)
