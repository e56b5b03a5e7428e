"""derive_seed and seed_numpy_and_random."""
import random

import numpy as np

from mmdet_inbreast.utils import derive_seed, seed_numpy_and_random


def test_derive_seed_is_numpys_seed_sequence():
    assert derive_seed(7, 1) == int(
        np.random.SeedSequence([7, 1]).generate_state(1)[0])
    assert derive_seed(7, 1, 3, 0) == int(
        np.random.SeedSequence([7, 1, 3, 0]).generate_state(1)[0])
    # The run's seed is taken modulo 2**32; the keys tell seeds apart.
    assert derive_seed(2**32 + 7, 1) == derive_seed(7, 1)
    assert len({derive_seed(7, e) for e in range(5)}) == 5


def test_seed_numpy_and_random():
    seed_numpy_and_random(123)
    a = (np.random.randint(2**31), random.random())
    seed_numpy_and_random(123)
    assert (np.random.randint(2**31), random.random()) == a
