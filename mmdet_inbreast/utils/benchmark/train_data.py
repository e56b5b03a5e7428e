"""The data side of the training benchmark
(:mod:`~mmdet_inbreast.utils.benchmark.train`): its inputs (random batches
in the loader's format, the config's train data loader, ``HxW`` sizes) and
the data-pipeline row (the config's train data loader iterated alone).

The data pipeline row has no memory figure (its work is in the worker
processes).
"""
from __future__ import annotations

import copy
import re
import time
from typing import Callable, Iterator, Optional

import torch

from .measure import Timing, time_calls


def parse_hw(text: str) -> tuple[int, int]:
    """``'1024x768'`` -> ``(1024, 768)`` (height, width).

    Raises:
        ValueError: Not ``HxW`` with positive integers.
    """
    m = re.fullmatch(r'\s*(\d+)\s*[xX]\s*(\d+)\s*', text)
    if not m or not int(m.group(1)) or not int(m.group(2)):
        raise ValueError(f'{text!r} is not HxW (e.g. 1024x1024)')
    return int(m.group(1)), int(m.group(2))


def synthetic_batch(batch_size: int, height: int, width: int,
                    seed: int = 0, background_value: float = -6.5) -> dict:
    """Random inputs in the format of the config's loader.

    ``inputs``: ``batch_size`` float32 tensors (3, H, W), standard normal
    (what :class:`ZeroIgnoringNormalize` gives); ``data_samples``: one
    ``DetDataSample`` each with one random box (a mass, label 0) in
    (x1, y1, x2, y2) pixels of the image, and the metainfo that
    ``PackDetInputs`` and :class:`BackgroundPadDetDataPreprocessor` need.

    Args:
        batch_size (int): Images.
        height, width (int): Image size in pixels.
        seed (int): Seed of the values. Defaults to 0.
        background_value (float): Normalised background (the pad value).

    Returns:
        dict: ``inputs`` (list of Tensor) and ``data_samples``.
    """
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(torch.randn(3, height, width, generator=g))
        size = torch.rand(2, generator=g) * 0.3 + 0.1  # 10-40 % of a side
        wh = size * torch.tensor([width, height])
        xy = torch.rand(2, generator=g) * (
            torch.tensor([width, height]) - wh)
        sample = DetDataSample(metainfo=dict(
            img_shape=(height, width), ori_shape=(height, width),
            scale_factor=(1.0, 1.0), flip=False, flip_direction=None,
            background_value=background_value))
        sample.gt_instances = InstanceData(
            bboxes=torch.cat([xy, xy + wh])[None].float(),
            labels=torch.zeros(1, dtype=torch.long))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _infinite(loader) -> Iterator:
    """Batches of ``loader``, epoch after epoch."""
    epoch = 0
    while True:
        if hasattr(loader.sampler, 'set_epoch'):
            loader.sampler.set_epoch(epoch)
        yielded = False
        for batch in loader:
            yielded = True
            yield batch
        if not yielded:
            raise ValueError('the train data loader yields no batch; is the '
                             'split empty or drop_last on a small split?')
        epoch += 1


def batch_images(batch: dict) -> int:
    """Images (samples) of a loader-format batch."""
    inputs = batch['inputs']
    return len(inputs) if isinstance(inputs, (list, tuple)) else \
        inputs.shape[0]


def build_train_loader(cfg, workers: Optional[int] = None,
                       batch_size: Optional[int] = None, seed: int = 0):
    """The config's train data loader (mmengine's
    ``Runner.build_dataloader``), with ``num_workers``/``batch_size``
    overridden when given (``persistent_workers`` is dropped for 0
    workers, which torch refuses)."""
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    init_default_scope(cfg.get('default_scope', 'mmdet'))
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    if workers is not None:
        loader_cfg['num_workers'] = workers
    if batch_size is not None:
        loader_cfg['batch_size'] = batch_size
    if not loader_cfg.get('num_workers', 0):
        loader_cfg['persistent_workers'] = False
    return Runner.build_dataloader(loader_cfg, seed=seed)


def bench_data_pipeline(loader, iters: int, warmup: int = 1,
                        clock: Callable[[], float] = time.perf_counter,
                        keep: int = 0) -> tuple[Timing, list]:
    """Time ``iters`` batches of ``loader`` after ``warmup`` batches.

    The first warm-up batch pays for the worker start-up; the loader is
    restarted at the end of each epoch (inside the timing, as in training).

    Args:
        loader (DataLoader): A train loader (:func:`build_train_loader`).
        iters (int): Timed batches.
        warmup (int): Untimed batches first. Defaults to 1.
        clock (callable): Seconds. Defaults to ``time.perf_counter``.
        keep (int): Also return this many further batches (inputs of the
            train-step rows). Defaults to 0.

    Returns:
        tuple[Timing, list]: The row and the kept batches.
    """
    batches = _infinite(loader)
    timing = Timing(name=f'data pipeline ({loader.num_workers} workers)')
    # Only the sizes are kept: holding on to the batches would make every
    # later batch pay for fresh pages (5x slower on the CPU here).
    timing.seconds, timing.items = time_calls(
        lambda: batch_images(next(batches)), iters, warmup, clock=clock)
    kept = [next(batches) for _ in range(keep)]
    return timing, kept
