"""Run a list of configs one after another (train, then test), resumably,
and summarise them in ``summary.md`` and ``summary.csv``.

Layout: run ``NAME`` (the config's file name without ``.py``) trains in
``<work_root>/NAME`` and is tested in ``<work_root>/NAME/test``::

    python -m mmdet_inbreast.apis.train CONFIG --work-dir <work_root>/NAME \
        [--resume]
    python -m mmdet_inbreast.apis.test CONFIG CKPT \
        --work-dir <work_root>/NAME/test

State, so that a sweep killed at any point picks up where it stopped:

- ``NAME/.train_done`` (JSON: ``checkpoint``, ``wall_s``): written when
  training exits 0. Without it, a work dir holding mmengine's
  ``last_checkpoint`` is trained again with ``--resume`` (mmengine resumes
  from that checkpoint), otherwise from scratch.
- ``NAME/.done`` (JSON: ``metrics_file``, ``checkpoint``): written when
  ``test.py`` exits 0 and its metrics JSON is found. **A run is finished when
  ``.done`` exists**; finished runs are skipped.

What a work dir holds (the checkpoint to test, the test metrics, the
training time) is read by :mod:`mmdet_inbreast.apis.work_dir`, so a summary
(:mod:`mmdet_inbreast.apis.sweep_summary`) can also be made of work dirs
trained by hand (``summary_only``).
"""
from __future__ import annotations

import json
import os
import os.path as osp
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from ..utils.errors import InputError
from .sweep_summary import collect_row, summary_table, write_summary
from .work_dir import (DONE_FILE, TRAIN_DONE_FILE, find_checkpoint,
                       find_test_metrics, run_state)

#: The modules that run training and testing (``python -m MODULE``).
TRAIN_MODULE = 'mmdet_inbreast.apis.train'
TEST_MODULE = 'mmdet_inbreast.apis.test'


@dataclass
class SweepRun:
    """One config of a sweep.

    Attributes:
        name (str): Config file name without ``.py``; the work dir's name.
        config (str): Config path.
        work_dir (str): ``<work_root>/<name>``.
    """
    name: str
    config: str
    work_dir: str

    @property
    def test_dir(self) -> str:
        """Work dir of the test run."""
        return osp.join(self.work_dir, 'test')


def plan_sweep(configs: Sequence[str], work_root: str) -> list[SweepRun]:
    """One :class:`SweepRun` per config, in the given order.

    Raises:
        FileNotFoundError: If a config does not exist.
        ValueError: If two configs have the same file name (their work dirs
            would collide) or the list is empty.
    """
    if not configs:
        raise InputError('no config given: name one or more config files')
    runs, seen = [], {}
    for config in configs:
        if not osp.isfile(config):
            raise InputError(f'{config}: config not found; give the path of '
                             'a config file (e.g. configs/variants/*.py)')
        name = osp.splitext(osp.basename(config))[0]
        if name in seen:
            raise InputError(f'{config} and {seen[name]} have the same name '
                             f'{name!r}: their work dirs would collide; '
                             'rename one')
        seen[name] = config
        runs.append(SweepRun(name, config, osp.join(work_root, name)))
    return runs


def _common_args(data_root: Optional[str],
                 cfg_options: Optional[Sequence[str]]) -> list[str]:
    args = []
    if data_root:
        args += ['--data-root', data_root]
    if cfg_options:
        args += ['--cfg-options', *cfg_options]
    return args


def train_command(run: SweepRun,
                  python: Sequence[str] = (sys.executable, ),
                  data_root: Optional[str] = None,
                  cfg_options: Optional[Sequence[str]] = None,
                  resume: bool = False) -> list[str]:
    """``python -m mmdet_inbreast.apis.train CONFIG --work-dir WD
    [--resume] ...``."""
    cmd = [*python, '-m', TRAIN_MODULE, run.config, '--work-dir',
           run.work_dir]
    if resume:
        cmd.append('--resume')
    return cmd + _common_args(data_root, cfg_options)


def test_command(run: SweepRun,
                 checkpoint: str,
                 python: Sequence[str] = (sys.executable, ),
                 data_root: Optional[str] = None,
                 cfg_options: Optional[Sequence[str]] = None,
                 extra: Sequence[str] = ()) -> list[str]:
    """``python -m mmdet_inbreast.apis.test CONFIG CKPT --work-dir WD/test
    [EXTRA] ...``."""
    return [*python, '-m', TEST_MODULE, run.config, checkpoint,
            '--work-dir', run.test_dir, *extra] + _common_args(
                data_root, cfg_options)


#: Lines of the runs' output echoed as progress: epoch summaries (the last
#: training line of an epoch and validation/test results) and errors.
_PROGRESS_RE = re.compile(
    r'Epoch\((?:val|test)\) +\[\d+\]\[(\d+)/\1\]|Saving checkpoint at|'
    r'Error|Traceback')


def _progress_line(line: str) -> str:
    """A log line shortened for progress output: the epoch and the headline
    metrics of a validation/test line, else the message itself."""
    msg = line.rstrip().split(' - mmengine - INFO - ')[-1]
    found = re.findall(r'(coco/bbox_mAP_50|froc/CPM|froc/sens@1): ([0-9.]+)',
                       msg)
    if found:
        return msg.split(']', 2)[0] + '] ' + ', '.join(
            f'{k} {v}' for k, v in found)
    return msg[:160]


def run_logged(cmd: list[str], log_path: str,
               echo: Optional[Callable[[str], None]] = None,
               env: Optional[dict] = None) -> int:
    """Run ``cmd``, its output appended to ``log_path``; the exit code.

    With ``echo``, progress lines (checkpoints saved per epoch, validation
    and test results, errors) are passed to it as they come. ``env``: more
    environment variables for the command.
    """
    os.makedirs(osp.dirname(log_path), exist_ok=True)
    with open(log_path, 'a') as log:
        log.write(f'$ {shlex.join(cmd)}\n')
        log.flush()
        # Unbuffered, so that progress shows as it happens, not per 8 kB.
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            errors='replace',
            env=dict(os.environ, PYTHONUNBUFFERED='1', **(env or {})))
        for line in proc.stdout:
            log.write(line)
            if echo is not None and _PROGRESS_RE.search(line):
                echo(_progress_line(line))
        log.flush()
        return proc.wait()


def _tail(path: str, lines: int = 15) -> str:
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-lines:])
    except OSError:
        return ''


def run_sweep(configs: Sequence[str],
              work_root: str,
              data_root: Optional[str] = None,
              cfg_options: Optional[Sequence[str]] = None,
              checkpoint: str = 'last',
              dry_run: bool = False,
              summary_only: bool = False,
              python: Sequence[str] = (sys.executable, ),
              echo: Callable[[str], None] = print) -> list[dict]:
    """Train and test each config in turn; skip finished runs; write the
    summary.

    A failing command does not stop the sweep: the run is reported as
    failed (with the tail of ``<work_dir>/sweep.log``, where the commands'
    output goes) and the next one starts.

    Args:
        configs (Sequence[str]): Config files.
        work_root (str): Parent of the work dirs; the summary goes here.
        data_root (str, optional): Passed as ``--data-root``.
        cfg_options (Sequence[str], optional): ``key=value`` strings passed
            verbatim as ``--cfg-options`` to both tools.
        checkpoint (str): ``'last'`` or ``'best'``
            (:func:`~.work_dir.find_checkpoint`). Defaults to ``'last'``.
        dry_run (bool): Print the plan and commands; run nothing, write
            nothing. Defaults to False.
        summary_only (bool): Run nothing; write the summary of what the
            work dirs hold. Defaults to False.
        python (Sequence[str]): Interpreter (or launcher) that runs
            ``-m mmdet_inbreast.apis.train`` / ``.test``. Defaults to this
            interpreter.
        echo (callable): Progress output. Defaults to ``print``.

    Returns:
        list[dict]: The summary rows (empty for a dry run).
    """
    runs = plan_sweep(configs, work_root)
    statuses: dict[str, str] = {}
    for k, run in enumerate(runs, 1):
        if summary_only:
            break
        state = run_state(run)
        prefix = f'[{k}/{len(runs)}] {run.name}'
        if state == 'done':
            echo(f'{prefix}: finished, skipped ({run.work_dir}/{DONE_FILE})')
            continue
        train_cmd = train_command(run, python, data_root,
                                  cfg_options, resume=state == 'resume')
        if dry_run:
            echo(f'{prefix}: {state}')
            if state != 'trained':
                echo('  ' + shlex.join(train_cmd))
            ckpt = (find_checkpoint(run.work_dir, checkpoint)
                    if state == 'trained' else None)
            echo('  ' + shlex.join(test_command(
                run, ckpt or f'<{checkpoint} checkpoint of {run.work_dir}>',
                python, data_root, cfg_options)))
            continue
        log = osp.join(run.work_dir, 'sweep.log')
        if state != 'trained':
            echo(f'{prefix}: training'
                 + (' (resuming)' if state == 'resume' else '')
                 + f', log: {log}')
            start = time.time()
            rc = run_logged(train_cmd, log, echo)
            if rc != 0:
                statuses[run.name] = f'failed (train, exit {rc})'
                echo(f'{prefix}: training failed (exit {rc}):\n{_tail(log)}')
                continue
            with open(osp.join(run.work_dir, TRAIN_DONE_FILE), 'w') as f:
                json.dump(dict(checkpoint=find_checkpoint(run.work_dir),
                               wall_s=round(time.time() - start, 1)), f)
        ckpt = find_checkpoint(run.work_dir, checkpoint)
        if ckpt is None:
            statuses[run.name] = 'failed (no checkpoint)'
            echo(f'{prefix}: training wrote no checkpoint in {run.work_dir}')
            continue
        echo(f'{prefix}: testing {osp.basename(ckpt)}')
        rc = run_logged(test_command(run, ckpt, python, data_root,
                                      cfg_options), log, echo)
        metrics_file, _ = find_test_metrics(run.work_dir)
        if rc != 0 or metrics_file is None:
            statuses[run.name] = f'failed (test, exit {rc})'
            echo(f'{prefix}: testing failed (exit {rc}'
                 + ('' if metrics_file else ', no metrics JSON')
                 + f'):\n{_tail(log)}')
            continue
        with open(osp.join(run.work_dir, DONE_FILE), 'w') as f:
            json.dump(dict(metrics_file=metrics_file, checkpoint=ckpt), f)
        echo(f'{prefix}: done')
    if dry_run:
        return []
    rows = [collect_row(run, statuses.get(run.name)) for run in runs]
    md_path, csv_path = write_summary(rows, work_root)
    echo(summary_table(rows))
    echo(f'summary: {md_path}, {csv_path}')
    return rows
