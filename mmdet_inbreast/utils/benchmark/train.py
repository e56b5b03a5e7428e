"""Training throughput: the train step with our loss and with mmdet's, and
the data pipeline alone, from one config, in one run.

Three measurements (``tools/analysis_tools/benchmark_train.py`` is the command line):

- **train step (ours)**: the config's model with the classification loss
  set to :class:`~mmdet_inbreast.models.losses.TorchSigmoidFocalLoss` (same
  arguments), random weights (``backbone.init_cfg=None``: nothing is
  downloaded), the config's optimizer, one ``model.train_step`` per call:
  data preprocessor, forward, losses, backward, optimizer step (and
  ``zero_grad``), exactly what mmengine's train loop calls.
- **train step (stock FocalLoss)**: the same with mmdet's ``FocalLoss``,
  which on CUDA calls mmcv's ``sigmoid_focal_loss`` kernel. That kernel has
  no bfloat16 version; under bf16 on CUDA the row reports the failure
  instead of a rate.
- **data pipeline**: the config's train data loader (its dataset, pipeline,
  sampler, batch size, ``num_workers``), iterated alone.

Both train-step rows start from the same seed (the same weights) and take
the same inputs: random tensors (``synthetic_input``, what the issue's
reference figures used) or batches from the config's loader, preloaded so
that only the step is timed. The config's ``ChannelsLastHook`` and
``env_cfg.cudnn_benchmark`` apply to both rows; ``amp_dtype`` is the
autocast dtype: on CUDA through mmengine's ``AmpOptimWrapper`` as in
training (:func:`~mmdet_inbreast.engine.setup_amp`'s settings), on the CPU
through ``torch.autocast('cpu', dtype)`` around the step (mmengine's
``AmpOptimWrapper`` refuses to run without a GPU).

Rates are images (samples) per second over the timed calls (images of
those calls / their total seconds, after ``warmup`` untimed calls; a short
last batch of an epoch counts the images it holds); on CUDA every call ends
with ``torch.cuda.synchronize()``.

Peak memory (MiB), from just before the model is built to the end of the
timed steps, is :class:`~mmdet_inbreast.utils.benchmark.measure.PeakMemory`'s
(what it counts on each device is in
:mod:`~mmdet_inbreast.utils.benchmark.measure`). The data pipeline row
(:mod:`~mmdet_inbreast.utils.benchmark.train_data`) has no memory figure
(its work is in the worker processes).
"""
from __future__ import annotations

import contextlib
import copy
import gc
import os
import os.path as osp
import time
from dataclasses import asdict
from typing import Callable, Optional, Sequence

import torch

from .measure import (PeakMemory, Timing, quiet_mmengine, ratio,
                      release_freed_memory, time_calls)
from .train_data import (batch_images, bench_data_pipeline,
                         build_train_loader, synthetic_batch)

#: Loss types the train-step rows compare: ours first, then mmdet's.
OURS, STOCK = 'TorchSigmoidFocalLoss', 'FocalLoss'
#: What a stock-FocalLoss row says when mmcv's kernel meets bfloat16.
MMCV_NO_BF16 = 'fails (mmcv kernel has no bf16)'


# -------------------------------------------------------------- train step
def _model_cfg(cfg, loss_type: str):
    """``cfg.model`` with random init and ``bbox_head.loss_cls`` of
    ``loss_type`` (same arguments)."""
    model_cfg = copy.deepcopy(cfg.model)
    if model_cfg.get('backbone') is not None:
        model_cfg.backbone['init_cfg'] = None
    loss = model_cfg.get('bbox_head', {}).get('loss_cls')
    if loss is None or str(loss.get('type')).split('.')[-1] not in (OURS,
                                                                    STOCK):
        raise ValueError(
            f"bbox_head.loss_cls is {loss!r}; the benchmark compares "
            f"{OURS} with mmdet's {STOCK} and needs a config using one of "
            'them (RetinaNet-like heads)')
    loss['type'] = loss_type
    return model_cfg


def _optim_wrapper(cfg, model, device: str, amp_dtype: Optional[str]):
    """The config's optimizer; on CUDA with ``amp_dtype`` an
    ``AmpOptimWrapper`` with :func:`setup_amp`'s loss scale."""
    from mmengine.optim import build_optim_wrapper

    wrapper_cfg = copy.deepcopy(cfg.optim_wrapper)
    if amp_dtype is not None and device.startswith('cuda'):
        wrapper_cfg['type'] = 'AmpOptimWrapper'
        wrapper_cfg['dtype'] = amp_dtype
        wrapper_cfg.setdefault(
            'loss_scale', 'dynamic' if amp_dtype == 'float16' else 1.0)
    elif str(wrapper_cfg.get('type', 'OptimWrapper')).endswith(
            'AmpOptimWrapper'):
        # The CPU runs autocast itself (AmpOptimWrapper needs a GPU).
        wrapper_cfg['type'] = 'OptimWrapper'
        for key in ('dtype', 'loss_scale'):
            wrapper_cfg.pop(key, None)
    return build_optim_wrapper(model, wrapper_cfg)


def _uses_channels_last(cfg) -> bool:
    return any(
        str(h.get('type')).split('.')[-1] == 'ChannelsLastHook'
        for h in cfg.get('custom_hooks', None) or [])


def bench_train_step(cfg,
                     loss_type: str,
                     batches: Sequence[dict],
                     iters: int,
                     warmup: int = 1,
                     device: str = 'cpu',
                     amp_dtype: Optional[str] = None,
                     seed: int = 0,
                     name: Optional[str] = None,
                     clock: Callable[[], float] = time.perf_counter
                     ) -> Timing:
    """Time ``model.train_step`` of the config's model with ``loss_type``.

    Builds the model (random weights, seed ``seed``) and the optimizer,
    then times ``iters`` steps after ``warmup`` steps, cycling through
    ``batches``. Errors while building or stepping are caught and reported
    in ``Timing.error`` (:data:`MMCV_NO_BF16` when mmdet's ``FocalLoss``
    fails on a BFloat16 tensor: mmcv's CUDA kernel under bf16 autocast).

    Args:
        cfg (Config): A training config (``model``, ``optim_wrapper``).
        loss_type (str): ``'TorchSigmoidFocalLoss'`` or ``'FocalLoss'``.
        batches (Sequence[dict]): Loader-format batches (``inputs``,
            ``data_samples``) on the CPU.
        iters (int): Timed steps.
        warmup (int): Untimed steps first. Defaults to 1.
        device (str): ``'cpu'`` or ``'cuda'``. Defaults to ``'cpu'``.
        amp_dtype (str, optional): ``'bfloat16'`` or ``'float16'``
            autocast; None for float32. Defaults to None.
        seed (int): Seed of the weights. Defaults to 0.
        name (str, optional): Row label. Defaults to
            ``'train step (<loss_type>)'``.
        clock (callable): Seconds. Defaults to ``time.perf_counter``.

    Returns:
        Timing: The row.

    Raises:
        ValueError: No batches, or the config's ``bbox_head.loss_cls`` is
            neither ``FocalLoss`` nor ``TorchSigmoidFocalLoss``.
    """
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope

    if not batches:
        raise ValueError('no batches to train on')
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model_cfg = _model_cfg(cfg, loss_type)
    timing = Timing(name=name or f'train step ({loss_type})')
    cuda = device.startswith('cuda')
    if cuda:
        torch.backends.cudnn.benchmark = bool(
            cfg.get('env_cfg', {}).get('cudnn_benchmark', False))
    dtype = getattr(torch, amp_dtype) if amp_dtype else None
    model = optim_wrapper = None
    try:
        with PeakMemory(device) as mem:
            torch.manual_seed(seed)
            with quiet_mmengine():
                model = MODELS.build(model_cfg)
                model.init_weights()
            model.to(device)
            if _uses_channels_last(cfg):
                model.to(memory_format=torch.channels_last)
            model.train()
            optim_wrapper = _optim_wrapper(cfg, model, device, amp_dtype)
            autocast = (torch.autocast('cpu', dtype=dtype)
                        if dtype is not None and not cuda else
                        contextlib.nullcontext())
            step_no = [0]

            def step() -> None:
                batch = batches[step_no[0] % len(batches)]
                step_no[0] += 1
                with autocast:
                    model.train_step(batch, optim_wrapper)
                return batch_images(batch)

            timing.seconds, timing.items = time_calls(
                step, iters, warmup,
                sync=torch.cuda.synchronize if cuda else None, clock=clock)
        timing.peak_mem_mib, timing.mem_note = mem.mib, mem.note
    except Exception as e:  # reported in the table, not raised
        timing.seconds, timing.items = [], []
        if loss_type == STOCK and 'BFloat16' in str(e):
            # mmcv: "sigmoid_focal_loss_forward_cuda_kernel" not
            # implemented for 'BFloat16'
            timing.error = MMCV_NO_BF16
        else:
            first = (str(e).strip().splitlines() or [''])[0][:80]
            timing.error = f'fails ({type(e).__name__}: {first})'
    finally:
        del model, optim_wrapper
        release_freed_memory()
    return timing


# ------------------------------------------------------------------- table
def format_table(ours: Timing, stock: Timing, data: Timing) -> str:
    """The benchmark table and the data/train ratio line.

    Rows: ours, stock, data pipeline; columns: img/s, peak memory (MiB),
    speed and memory relative to the stock row.
    """
    lines = [f'{"":<36}{"img/s":>9}{"peak MiB":>11}{"speed x stock":>15}'
             f'{"mem x stock":>13}']

    def num(v: Optional[float], fmt: str) -> str:
        return '-' if v is None else format(v, fmt)

    for row in (ours, stock, data):
        if row.error is not None:
            lines.append(f'{row.name:<36}  {row.error}')
            continue
        speed = ratio(row.rate, stock.rate) if row is not data else None
        mem = ratio(row.peak_mem_mib, stock.peak_mem_mib) \
            if row is not data else None
        peak = num(row.peak_mem_mib, '.0f') + row.mem_note
        lines.append(f'{row.name:<36}{num(row.rate, ".2f"):>9}{peak:>11}'
                     f'{num(speed, ".2f"):>15}{num(mem, ".2f"):>13}')
    r = ratio(data.rate, ours.rate)
    lines.append(f'data pipeline / train step (ours): {num(r, ".2f")}x '
                 '(target >= 2 on GPU)')
    return '\n'.join(lines)


# ----------------------------------------------------------------- release
def prepare_synthetic_release(out_dir: str, num_patients: int = 4,
                              scale: float = 0.125, seed: int = 0) -> str:
    """Write a synthetic release with the files a training config reads:
    ``splits/{train,val,test}.txt`` (0.7 / 0.1 / 0.2 by patient) and the
    training split's statistics, with
    :func:`mmdet_inbreast.study.folds.write_splits_and_stats`.

    Args:
        out_dir (str): Parent folder.
        num_patients (int): Patients (4 images each, 2 for mastectomy
            cases). Defaults to 4.
        scale (float): Image scale (0.125: 416 x 510). Defaults to 0.125.
        seed (int): Seed of the release and the split. Defaults to 0.

    Returns:
        str: The release folder.
    """
    from mmdet_inbreast.datasets.synthetic import make_synthetic_release
    from mmdet_inbreast.study.folds import write_splits_and_stats

    make_synthetic_release(out_dir, num_patients=num_patients, scale=scale,
                           seed=seed, mass_fraction=0.6)
    root = osp.join(out_dir, 'INbreast Release 1.0')
    write_splits_and_stats(root, (0.7, 0.1, 0.2), seed,
                           header=f'benchmark seed={seed}', overwrite=True)
    return root


def run_benchmark(cfg,
                  iters: int = 20,
                  warmup: int = 3,
                  data_iters: int = 20,
                  device: str = 'cpu',
                  amp_dtype: Optional[str] = None,
                  batch_size: Optional[int] = None,
                  workers: Optional[int] = None,
                  synthetic_input: Optional[tuple[int, int]] = None,
                  preload: int = 4,
                  seed: int = 0,
                  progress: Optional[Callable[[str], None]] = None) -> dict:
    """Time the data pipeline, then the train step with both losses.

    The data loader runs first and is shut down before the train steps, so
    that its workers do not compete with them for the CPU; one untimed
    train step (model built and dropped) comes before the two rows, so that
    one-off costs do not fall on the first of them.

    Args:
        cfg (Config): Training config whose datasets point at a release
            with splits and statistics.
        iters (int): Timed train steps per row. Defaults to 20.
        warmup (int): Untimed steps (and batches) first. Defaults to 3.
        data_iters (int): Timed loader batches. Defaults to 20.
        device (str): ``'cpu'`` or ``'cuda'``. Defaults to ``'cpu'``.
        amp_dtype (str, optional): Autocast dtype; None: the config's
            ``amp_dtype`` (None there too: float32).
        batch_size (int, optional): Overrides the loader's batch size.
        workers (int, optional): Overrides the loader's ``num_workers``.
        synthetic_input (tuple[int, int], optional): (H, W) of random
            train-step inputs; None: ``preload`` batches from the loader.
        preload (int): Loader batches kept for the train steps. Defaults
            to 4.
        seed (int): Seed of loader, inputs and weights. Defaults to 0.
        progress (callable, optional): Called with a line per stage.

    Returns:
        dict: ``ours``, ``stock``, ``data`` (:class:`Timing` as dicts, with
        ``rate``), ``table`` (str) and the settings.
    """
    say = progress or (lambda s: None)
    amp_dtype = amp_dtype or cfg.get('amp_dtype', None)
    if amp_dtype is not None:
        amp_dtype = str(amp_dtype).replace('torch.', '')
        if amp_dtype not in ('bfloat16', 'float16'):
            raise ValueError(f'amp_dtype={amp_dtype!r}; use bfloat16 or '
                             'float16')
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise ValueError(f'device={device!r} but torch sees no CUDA GPU; '
                         'use --device cpu')
    loader = build_train_loader(cfg, workers, batch_size, seed)
    say(f'data pipeline: {data_iters} batches of {loader.batch_size}, '
        f'{loader.num_workers} workers')
    data, kept = bench_data_pipeline(
        loader, data_iters, warmup, keep=0 if synthetic_input else preload)
    del loader
    gc.collect()
    bs = batch_size or cfg.train_dataloader.get('batch_size', 1)
    if synthetic_input:
        batches = [synthetic_batch(bs, *synthetic_input, seed=seed)]
        source = 'random {}x{} inputs'.format(*synthetic_input)
    else:
        batches = kept
        source = f'{len(kept)} loader batches'
    # One untimed step first: one-off costs (lazy imports, kernel and
    # allocator caches, CUDA context) would otherwise land on the first row
    # (about 50 MiB of resident memory on the CPU).
    say('priming: one untimed train step')
    bench_train_step(cfg, OURS, batches, 1, 0, device, amp_dtype, seed)
    rows = {}
    for key, loss in (('ours', OURS), ('stock', STOCK)):
        say(f'train step with {loss}: {iters} steps after {warmup}, '
            f'{source}, {device}, {amp_dtype or "float32"}')
        label = ('train step (ours: TorchSigmoidFocalLoss)'
                 if key == 'ours' else 'train step (stock FocalLoss)')
        rows[key] = bench_train_step(cfg, loss, batches, iters, warmup,
                                     device, amp_dtype, seed, name=label)
    table = format_table(rows['ours'], rows['stock'], data)
    out = {k: dict(asdict(t), rate=t.rate)
           for k, t in (('ours', rows['ours']), ('stock', rows['stock']),
                        ('data', data))}
    out.update(table=table, device=device, amp_dtype=amp_dtype,
               batch_size=bs, iters=iters, warmup=warmup,
               data_iters=data_iters, input=source,
               torch_threads=torch.get_num_threads(),
               cpu_count=os.cpu_count())
    return out
