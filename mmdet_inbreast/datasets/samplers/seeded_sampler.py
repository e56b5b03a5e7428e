"""SeededSampler: every sample carries its own random seed, a function of
(run seed, epoch, sample index) only."""
from __future__ import annotations

from typing import Iterator

from mmengine.dataset import DefaultSampler
from mmdet.registry import DATA_SAMPLERS

from ...utils.seeding import derive_seed, seed_numpy_and_random


def sample_seed(seed: int, epoch: int, index: int, repeat: int = 0) -> int:
    """A 32-bit seed for sample ``index`` in ``epoch`` of a run seeded with
    ``seed``.

    Args:
        seed (int): The run's (sampler's) seed.
        epoch (int): The epoch.
        index (int): The dataset index.
        repeat (int): Which copy of ``index`` in this epoch, when the
            sampler pads the epoch with repeats (``round_up``). Defaults
            to 0.

    Returns:
        int: The seed, in ``[0, 2**32)``.
    """
    return derive_seed(seed, epoch, index, repeat)


class SeededIndex(int):
    """A dataset index that carries the seed of its sample's random
    augmentation.

    It is an ``int`` everywhere (batch samplers look data infos up with
    it, ``dataset[idx]`` indexes with it), and it survives the pickling
    that sends indices to loader workers.

    Args:
        index (int): The dataset index.
        seed (int): The seed for this sample's augmentation.
    """

    def __new__(cls, index: int, seed: int) -> 'SeededIndex':
        obj = super().__new__(cls, index)
        obj.seed = int(seed)
        return obj

    def __reduce__(self):
        return SeededIndex, (int(self), self.seed)

    def __repr__(self) -> str:
        return f'SeededIndex({int(self)}, seed={self.seed})'


def seed_sample(idx) -> int:
    """Seed numpy's and ``random``'s global generators for one sample, when
    ``idx`` is a :class:`SeededIndex`; return the plain index.

    mmcv and mmdet transforms (and :class:`MassPreservingRandomCrop`) draw
    from these global generators. Datasets call this first in
    ``__getitem__``, so a sample's augmentation depends on its seed alone,
    not on which loader worker runs it, nor on what that worker ran before.

    Args:
        idx (int | SeededIndex): The index the sampler gave.

    Returns:
        int: ``idx`` as a plain ``int``.
    """
    seed = getattr(idx, 'seed', None)
    if seed is not None:
        seed_numpy_and_random(seed)
    return int(idx)


@DATA_SAMPLERS.register_module()
class SeededSampler(DefaultSampler):
    """mmengine's :class:`~mmengine.dataset.DefaultSampler` whose indices
    carry a per-sample seed derived from (seed, epoch, index).

    With the datasets of this package (:class:`INbreastDataset`,
    :class:`MassRepeatDataset`), which seed numpy and ``random`` from it
    before running the pipeline, the random crops and flips of a sample
    depend only on the run's seed, the epoch and the sample's index: not on
    ``num_workers``, ``persistent_workers``, the worker that draws it, the
    order or the number of GPUs. So loader workers can stay alive across
    epochs (``persistent_workers=True``) and a run resumed from an epoch
    checkpoint still draws the same crops as the uninterrupted run.

    The epoch comes from ``set_epoch``, which mmengine's
    ``DistSamplerSeedHook`` (in mmdet's default hooks) calls before every
    training epoch. Other datasets receive ordinary ``int`` indices and
    keep their workers' own random streams.

    Args:
        dataset (Sized): The dataset.
        shuffle (bool): Whether to shuffle. Defaults to True.
        seed (int, optional): The seed, the same on every rank; the
            runner passes its own. Defaults to None (a synchronised random
            one).
        round_up (bool): Pad the epoch so every rank gets the same number
            of samples; a padded repeat of an index gets its own seed.
            Defaults to True.
    """

    def __iter__(self) -> Iterator[SeededIndex]:
        """Iterate this rank's indices, each with its seed."""
        n = len(self.dataset)
        # Positions in the global (all ranks) order: the repeat number of a
        # padded index is its position // n.
        positions = range(self.rank, self.total_size, self.world_size)
        for pos, idx in zip(positions, super().__iter__()):
            yield SeededIndex(idx, sample_seed(self.seed, self.epoch, idx,
                                               pos // n))
