"""Run the independent runs of a study on an existing engine.

- ``local``: one after another in this process's machine; with
  ``gpus=N > 1``, N at once through a thread pool, each run's commands
  seeing one GPU (``CUDA_VISIBLE_DEVICES``).
- ``ray``: each run is a Ray task (``num_gpus=1``, or one CPU when
  ``gpus=0``) on a local Ray instance or, with ``address='auto'``, on the
  cluster this machine joined (``ray start``). Workers must see the same
  file system paths (data root, work root, checkout). Ray retries a task
  whose node was lost once (``max_retries=1``).

Either way a run whose command fails is retried once (resuming), then
reported as failed with its log path; nothing disappears.
"""
from __future__ import annotations

import os
import queue
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Callable, Optional, Sequence

from ..utils.errors import InputError
from .plan import StudyRun
from .runner import execute_with_retry, run_state

LAUNCHERS = ('local', 'ray')


def _summary(run: StudyRun, result: dict) -> str:
    extra = '' if result['status'] == 'done' else f' (log: {result["log"]})'
    return (f'{run.name}: {result["status"]} in {result["wall_s"]:.0f} s'
            + extra)


def launch_local(runs: Sequence[StudyRun], gpus: int = 0,
                 echo: Callable[[str], None] = print) -> dict:
    """Run sequentially, or ``gpus`` at once (one GPU each).

    Returns:
        dict: Run name -> result of
        :func:`~.runner.execute_with_retry`.
    """
    results = {}
    if gpus <= 1:
        for i, run in enumerate(runs, 1):
            echo(f'[{i}/{len(runs)}] {run.name}: {run_state(run)}, log '
                 f'{run.log}')
            results[run.name] = execute_with_retry(
                run, echo=lambda m, n=run.name: echo(f'  {n}: {m}'))
            echo(_summary(run, results[run.name]))
        return results
    free: queue.Queue = queue.Queue()
    for device in range(gpus):
        free.put(device)

    def job(run: StudyRun) -> dict:
        device = free.get()
        try:
            echo(f'{run.name}: started on GPU {device}, log {run.log}')
            return execute_with_retry(
                run, env=dict(CUDA_VISIBLE_DEVICES=str(device)))
        finally:
            free.put(device)

    with ThreadPoolExecutor(max_workers=gpus) as pool:
        futures = {pool.submit(job, run): run for run in runs}
        for future in as_completed(futures):
            run = futures[future]
            results[run.name] = future.result()
            echo(_summary(run, results[run.name]))
    return results


def _ray_task(run: StudyRun) -> dict:
    return execute_with_retry(run)


def launch_ray(runs: Sequence[StudyRun], gpus: int = 0,
               address: Optional[str] = None, num_cpus: Optional[int] = None,
               echo: Callable[[str], None] = print) -> dict:
    """Run each run as a Ray task.

    Args:
        runs (Sequence[StudyRun]): The runs.
        gpus (int): > 0: each task asks for one GPU; 0: for one CPU.
        address (str, optional): ``'auto'`` or ``'ray://host:port'`` joins
            a cluster; None starts a local instance.
        num_cpus (int, optional): CPUs of a local instance. Defaults to
            Ray's choice (all).
        echo (callable): Progress output.

    Returns:
        dict: Run name -> result; a task lost twice is ``failed (ray:
        ...)``.
    """
    try:
        import ray
    except ImportError:
        raise InputError('--launcher ray needs Ray: pip install -e .[ray] '
                         '(or pip install ray)') from None
    env_vars = {k: os.environ[k] for k in ('PYTHONPATH', )
                if k in os.environ}
    started = not ray.is_initialized()
    if started:
        kwargs = dict(address=address, include_dashboard=False,
                      runtime_env=dict(env_vars=env_vars) if env_vars
                      else None)
        if address is None and num_cpus is not None:
            kwargs['num_cpus'] = num_cpus
        ray.init(**kwargs)
    try:
        resources = dict(num_gpus=1) if gpus > 0 else dict(num_cpus=1)
        remote = ray.remote(max_retries=1, **resources)(_ray_task)
        pending = {remote.remote(run): run for run in runs}
        for run in runs:
            echo(f'{run.name}: submitted ({run_state(run)}), log {run.log}')
        results = {}
        start = time.time()
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            ref = done[0]
            run = pending.pop(ref)
            try:
                results[run.name] = ray.get(ref)
            except Exception as e:  # noqa: BLE001  (a lost node, a crash)
                results[run.name] = dict(
                    status=f'failed (ray: {type(e).__name__})',
                    log=run.log, wall_s=time.time() - start, attempts=2)
            echo(_summary(run, results[run.name]))
        return results
    finally:
        if started:
            ray.shutdown()


def launch(runs: Sequence[StudyRun], launcher: str = 'local', gpus: int = 0,
           address: Optional[str] = None, num_cpus: Optional[int] = None,
           echo: Callable[[str], None] = print) -> dict:
    """Run the runs with ``launcher`` (see the module docstring); finished
    runs return at once. ``num_cpus`` sizes a local Ray instance."""
    if launcher not in LAUNCHERS:
        raise InputError(f'--launcher {launcher}: use one of {LAUNCHERS}')
    if launcher == 'ray':
        return launch_ray(runs, gpus=gpus, address=address,
                          num_cpus=num_cpus, echo=echo)
    if address is not None:
        raise InputError('--address is for --launcher ray')
    return launch_local(runs, gpus=gpus, echo=echo)
