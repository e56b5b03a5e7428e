"""Seeds derived from a run's seed, and seeding of the global generators
that mmcv/mmdet transforms draw from."""
from __future__ import annotations

import random

import numpy as np


def derive_seed(seed: int, *keys: int) -> int:
    """A 32-bit seed that depends only on ``seed`` and ``keys``.

    Args:
        seed (int): The run's seed (taken modulo 2**32).
        *keys (int): What the derived seed is for (epoch, index, ...).

    Returns:
        int: The seed, in ``[0, 2**32)``.
    """
    return int(np.random.SeedSequence(
        [int(seed) % 2**32, *(int(k) for k in keys)]).generate_state(1)[0])


def seed_numpy_and_random(seed: int) -> None:
    """Seed numpy's and Python's global generators with ``seed``.

    Args:
        seed (int): A seed in ``[0, 2**32)``.
    """
    np.random.seed(seed)
    random.seed(seed)
