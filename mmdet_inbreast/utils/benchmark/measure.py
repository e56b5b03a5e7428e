"""What the benchmarks measure with: timed calls (:class:`Timing`,
:func:`time_calls`, :func:`ratio`), peak memory (:class:`PeakMemory`), and
quieting mmengine's logger around the timed work (:func:`quiet_mmengine`).

Peak memory (MiB), from entering :class:`PeakMemory` to leaving it (in the
train benchmark, from just before the model is built to the end of the
timed steps):

- CUDA: ``torch.cuda.max_memory_allocated()`` after
  ``reset_peak_memory_stats()``, minus what was allocated at the start:
  tensors only (weights, gradients, optimizer state, activations), not the
  caching allocator's reserve.
- CPU (Linux): growth of the process's resident set, ``VmHWM`` (peak
  resident set) after resetting it through ``/proc/self/clear_refs`` minus
  ``VmRSS`` at the start, freed memory handed back to the system first
  (``malloc_trim``). It is approximate both ways: it counts allocator
  slack and library caches (oneDNN), and it misses memory the process
  already held from earlier work and reuses (after the first model of a
  process about 50 MiB stays resident and is reused by the next one; that
  is why :func:`~mmdet_inbreast.utils.benchmark.train.run_benchmark`
  primes with one untimed step, so that the two rows start from the same
  state and compare). Where ``clear_refs`` cannot be written,
  ``ru_maxrss`` (a lifetime peak that cannot be reset) is used and the
  figure is marked ``*``.
"""
from __future__ import annotations

import contextlib
import ctypes
import gc
import re
import resource
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

import torch


@dataclass
class Timing:
    """One row of the benchmark.

    Attributes:
        name (str): Row label.
        seconds (list[float]): Duration of each timed call.
        items (list[int]): Images (samples) of each timed call (a short
            last batch of an epoch counts what it holds).
        peak_mem_mib (float, optional): Peak memory (see the module
            docstring), None when not measured.
        mem_note (str): ``'*'`` when the CPU figure is a lifetime peak.
        error (str, optional): Why the row has no figures.
    """
    name: str
    seconds: list = field(default_factory=list)
    items: list = field(default_factory=list)
    peak_mem_mib: Optional[float] = None
    mem_note: str = ''
    error: Optional[str] = None

    @property
    def rate(self) -> Optional[float]:
        """Items per second over the timed calls, None if failed/empty."""
        total = sum(self.seconds)
        if self.error is not None or not self.seconds or total <= 0:
            return None
        return sum(self.items) / total


def time_calls(fn: Callable[[], Any],
               iters: int,
               warmup: int = 1,
               sync: Optional[Callable[[], None]] = None,
               clock: Callable[[], float] = time.perf_counter
               ) -> tuple[list[float], list]:
    """Call ``fn`` ``warmup`` times untimed, then ``iters`` times timed.

    Args:
        fn (callable): What one call does (a train step, one batch). What
            it returns is kept: return something small (a count), not the
            batch (holding batches changes the allocator's behaviour).
        iters (int): Timed calls (>= 1).
        warmup (int): Untimed calls first (>= 0). Defaults to 1.
        sync (callable, optional): Called after each call, inside the
            timing (``torch.cuda.synchronize`` on GPU).
        clock (callable): Seconds. Defaults to ``time.perf_counter``.

    Returns:
        tuple[list[float], list]: Seconds of each timed call, and what
        each timed call returned.

    Raises:
        ValueError: If ``iters < 1`` or ``warmup < 0``.
    """
    if iters < 1 or warmup < 0:
        raise ValueError(f'iters={iters}, warmup={warmup}: need iters >= 1 '
                         'and warmup >= 0')
    sync = sync or (lambda: None)
    for _ in range(warmup):
        fn()
        sync()
    seconds, outputs = [], []
    for _ in range(iters):
        start = clock()
        out = fn()
        sync()
        seconds.append(clock() - start)
        outputs.append(out)
    return seconds, outputs


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    """``a / b``, or None when either is missing or ``b`` is 0."""
    if a is None or b is None or b == 0:
        return None
    return a / b


@contextlib.contextmanager
def quiet_mmengine() -> Iterator[None]:
    """Silence mmengine's INFO lines (one per initialised layer) inside."""
    import logging

    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


# ------------------------------------------------------------------ memory
def _proc_status_kib(key: str) -> Optional[int]:
    try:
        with open('/proc/self/status') as f:
            m = re.search(rf'^{key}:\s+(\d+) kB', f.read(), re.M)
        return int(m.group(1)) if m else None
    except OSError:
        return None


def release_freed_memory() -> None:
    """Collect garbage and hand freed memory back (``malloc_trim``; the
    CUDA caching allocator's reserve on a GPU)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class PeakMemory:
    """Context manager: peak memory growth inside it, in MiB.

    See the module docstring for what is measured on each device.
    ``mib`` and ``note`` are set on exit.

    Args:
        device (str): ``'cpu'`` or ``'cuda'``.
    """

    def __init__(self, device: str) -> None:
        self.device = device
        self.mib: Optional[float] = None
        self.note = ''

    def __enter__(self) -> 'PeakMemory':
        release_freed_memory()
        if self.device.startswith('cuda'):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self._base = torch.cuda.memory_allocated()
            return self
        self._base = _proc_status_kib('VmRSS')
        self._hwm_reset = False
        if self._base is not None:
            try:
                with open('/proc/self/clear_refs', 'w') as f:
                    f.write('5')  # resets VmHWM to the current VmRSS
                self._hwm_reset = True
            except OSError:
                pass
        return self

    def __exit__(self, *exc) -> None:
        if self.device.startswith('cuda'):
            torch.cuda.synchronize()
            self.mib = (torch.cuda.max_memory_allocated() -
                        self._base) / 2**20
            return
        if self._base is None:
            return
        if self._hwm_reset:
            peak_kib = _proc_status_kib('VmHWM')
        else:
            peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            self.note = '*'
        if peak_kib is not None:
            self.mib = max(peak_kib - self._base, 0) / 1024
