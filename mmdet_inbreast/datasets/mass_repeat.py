"""MassRepeatDataset: repeat positives and negatives a different number of
times per epoch."""
from __future__ import annotations

import copy
from typing import Union

import numpy as np
from mmengine.dataset import BaseDataset, force_full_init
from mmdet.registry import DATASETS

from .samplers import seed_sample


@DATASETS.register_module()
class MassRepeatDataset:
    """Repeat each image with masses ``pos_times`` and each image without
    ``neg_times`` times per epoch (the seed thesis: 5 and 2).

    This is a dataset wrapper (like mmengine's ``RepeatDataset``), not a
    sampler, so it works with any sampler, any number of GPUs and
    ``InfiniteSampler``. Every index runs the wrapped dataset's pipeline
    afresh, so with a random crop each repeat is a new crop (seeded per
    repeat under :class:`SeededSampler`). An image is
    positive when it has at least one non-ignored instance.

    Args:
        dataset (BaseDataset | dict): The dataset or its config.
        pos_times (int): Repeats of a positive image per epoch. Defaults
            to 5.
        neg_times (int): Repeats of a negative image per epoch. Defaults
            to 2.
        lazy_init (bool): Defer indexing until first use. Defaults to False.
    """

    def __init__(self,
                 dataset: Union[BaseDataset, dict],
                 pos_times: int = 5,
                 neg_times: int = 2,
                 lazy_init: bool = False) -> None:
        if isinstance(dataset, dict):
            dataset = DATASETS.build(dataset)
        if not isinstance(dataset, BaseDataset):
            raise TypeError('dataset must be a BaseDataset or its config, '
                            f'got {type(dataset)}')
        if pos_times < 0 or neg_times < 0 or pos_times + neg_times == 0:
            raise ValueError(f'pos_times={pos_times}, neg_times={neg_times}: '
                             'both must be >= 0 and not both 0')
        self.dataset = dataset
        self.pos_times = int(pos_times)
        self.neg_times = int(neg_times)
        self._metainfo = dataset.metainfo
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's meta information."""
        return copy.deepcopy(self._metainfo)

    def full_init(self) -> None:
        """Index the repeats: ``ori_index[i]`` is the image of index i."""
        if self._fully_initialized:
            return
        self.dataset.full_init()
        positive = np.array(
            [self.is_positive(i) for i in range(len(self.dataset))], bool)
        times = np.where(positive, self.pos_times, self.neg_times)
        self.ori_index = np.repeat(np.arange(len(self.dataset)), times)
        self.num_positive = int(positive.sum())
        self._fully_initialized = True

    def is_positive(self, idx: int) -> bool:
        """Whether image ``idx`` of the wrapped dataset has a non-ignored
        instance."""
        info = self.dataset.get_data_info(idx)
        return any(not inst.get('ignore_flag', 0)
                   for inst in info.get('instances', []))

    @force_full_init
    def get_ori_index(self, idx: int) -> int:
        """Index in the wrapped dataset of repeat ``idx``."""
        return int(self.ori_index[idx])

    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        """Data info of repeat ``idx``."""
        return self.dataset.get_data_info(self.get_ori_index(idx))

    def __getitem__(self, idx: int) -> dict:
        if not self._fully_initialized:
            self.full_init()
        # A SeededSampler's seed is for this repeat, not for the image.
        return self.dataset[self.get_ori_index(seed_sample(idx))]

    @force_full_init
    def __len__(self) -> int:
        return len(self.ori_index)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(pos_times={self.pos_times}, '
                f'neg_times={self.neg_times}, dataset={self.dataset!r})')
