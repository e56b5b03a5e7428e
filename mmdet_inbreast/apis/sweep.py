"""Run a list of configs one after another (train, then test), resumably,
and summarise them in ``summary.md`` and ``summary.csv``.

Layout: run ``NAME`` (the config's file name without ``.py``) trains in
``<work_root>/NAME`` and is tested in ``<work_root>/NAME/test``::

    python tools/train.py CONFIG --work-dir <work_root>/NAME [--resume]
    python tools/test.py CONFIG CKPT --work-dir <work_root>/NAME/test

State, so that a sweep killed at any point picks up where it stopped:

- ``NAME/.train_done`` (JSON: ``checkpoint``, ``wall_s``): written when
  ``train.py`` exits 0. Without it, a work dir holding mmengine's
  ``last_checkpoint`` is trained again with ``--resume`` (mmengine resumes
  from that checkpoint), otherwise from scratch.
- ``NAME/.done`` (JSON: ``metrics_file``, ``checkpoint``): written when
  ``test.py`` exits 0 and its metrics JSON is found. **A run is finished when
  ``.done`` exists**; finished runs are skipped.

Results are read from the files mmengine writes, so a summary can also be
made of work dirs trained by hand (``summary_only``):

- metrics: the newest ``<work_dir>/test/<timestamp>/<timestamp>.json`` (or
  ``<work_dir>/<timestamp>/<timestamp>.json``) holding test metrics; mmengine's
  ``LoggerHook`` writes it at the end of ``runner.test()``. AP =
  ``coco/bbox_mAP``, AP50 = ``coco/bbox_mAP_50``, CPM = ``froc/CPM``,
  sens@1 = ``froc/sens@1``.
- training time: the sum, over the training sessions in the work dir
  (``<timestamp>/<timestamp>.log`` files that log ``Checkpoints will be
  saved to`` or ``Epoch(train)``; a resumed run has several), of the time
  from the session's start (the folder's timestamp, taken when the runner
  is built) to its last log line. It includes validation and checkpointing,
  not the process start-up. Without such logs, the wall time of the
  ``train.py`` command recorded in ``.train_done`` is used.

The tested checkpoint is, by default, the last one (``last_checkpoint``):
the split-ratio variants validate on their test split, so their "best"
checkpoint would be chosen on the test data. ``checkpoint='best'`` takes the
newest ``best_*.pth`` instead, when there is one.
"""
from __future__ import annotations

import csv
import datetime as _dt
import glob
import json
import math
import os
import os.path as osp
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

#: Summary columns -> metric keys of mmengine's test JSON.
METRIC_COLUMNS: dict[str, str] = {
    'AP': 'coco/bbox_mAP',
    'AP50': 'coco/bbox_mAP_50',
    'CPM': 'froc/CPM',
    'sens@1': 'froc/sens@1',
}
SUMMARY_COLUMNS = ('run', 'AP', 'AP50', 'CPM', 'sens@1', 'train_time_s',
                   'status', 'checkpoint')

DONE_FILE = '.done'
TRAIN_DONE_FILE = '.train_done'
_TS_DIR_RE = re.compile(r'^\d{8}_\d{6}$')
#: mmengine log line start: ``2024/01/31 10:00:05 - `` in the log file,
#: ``01/31 10:00:05 - `` on the console (no year).
_LOG_TIME_RE = re.compile(
    r'^(?:(\d{4})/)?(\d{2})/(\d{2}) (\d{2}):(\d{2}):(\d{2}) - ')
#: Lines that only a training session logs.
_TRAIN_MARKERS = ('Epoch(train)', 'Checkpoints will be saved to')


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
        raise ValueError('no config given')
    runs, seen = [], {}
    for config in configs:
        if not osp.isfile(config):
            raise FileNotFoundError(f'{config}: config not found')
        name = osp.splitext(osp.basename(config))[0]
        if name in seen:
            raise ValueError(f'{config} and {seen[name]} have the same name '
                             f'{name!r}: their work dirs would collide; '
                             'rename one')
        seen[name] = config
        runs.append(SweepRun(name, config, osp.join(work_root, name)))
    return runs


def _read_json(path: str) -> Optional[dict]:
    try:
        with open(path) as f:
            content = json.load(f)
    except (OSError, ValueError):
        return None
    return content if isinstance(content, dict) else None


def run_state(run: SweepRun) -> str:
    """``'done'`` (``.done``), ``'trained'`` (``.train_done``),
    ``'resume'`` (``last_checkpoint`` without ``.train_done``: killed while
    training) or ``'new'``."""
    if osp.isfile(osp.join(run.work_dir, DONE_FILE)):
        return 'done'
    if osp.isfile(osp.join(run.work_dir, TRAIN_DONE_FILE)):
        return 'trained'
    if osp.isfile(osp.join(run.work_dir, 'last_checkpoint')):
        return 'resume'
    return 'new'


def _tool(tools_dir: str, name: str) -> str:
    return osp.join(tools_dir, name)


def _default_tools_dir() -> str:
    return osp.join(osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))), 'tools')


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
                  tools_dir: Optional[str] = None,
                  data_root: Optional[str] = None,
                  cfg_options: Optional[Sequence[str]] = None,
                  resume: bool = False) -> list[str]:
    """``python tools/train.py CONFIG --work-dir WD [--resume] ...``."""
    tools_dir = tools_dir or _default_tools_dir()
    cmd = [*python, _tool(tools_dir, 'train.py'), run.config, '--work-dir',
           run.work_dir]
    if resume:
        cmd.append('--resume')
    return cmd + _common_args(data_root, cfg_options)


def test_command(run: SweepRun,
                 checkpoint: str,
                 python: Sequence[str] = (sys.executable, ),
                 tools_dir: Optional[str] = None,
                 data_root: Optional[str] = None,
                 cfg_options: Optional[Sequence[str]] = None) -> list[str]:
    """``python tools/test.py CONFIG CKPT --work-dir WD/test ...``."""
    tools_dir = tools_dir or _default_tools_dir()
    return [*python, _tool(tools_dir, 'test.py'), run.config, checkpoint,
            '--work-dir', run.test_dir] + _common_args(data_root, cfg_options)


def find_checkpoint(work_dir: str, which: str = 'last') -> Optional[str]:
    """The checkpoint to test: ``'last'`` (the file named by mmengine's
    ``last_checkpoint``) or ``'best'`` (the newest ``best_*.pth``, else the
    last). None if there is none."""
    if which not in ('last', 'best'):
        raise ValueError(f"checkpoint must be 'last' or 'best', got "
                         f'{which!r}')
    if which == 'best':
        best = sorted(glob.glob(osp.join(work_dir, 'best_*.pth')),
                      key=osp.getmtime)
        if best:
            return best[-1]
    marker = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(marker):
        with open(marker) as f:
            path = f.read().strip()
        if path and not osp.isfile(path):  # work dir moved since
            path = osp.join(work_dir, osp.basename(path))
        if path and osp.isfile(path):
            return path
    epochs = sorted(glob.glob(osp.join(work_dir, 'epoch_*.pth')),
                    key=lambda p: int(re.sub(r'\D', '', osp.basename(p))
                                      or 0))
    return epochs[-1] if epochs else None


def _timestamp_dirs(folder: str) -> list[str]:
    if not osp.isdir(folder):
        return []
    return sorted(osp.join(folder, d) for d in os.listdir(folder)
                  if _TS_DIR_RE.match(d) and osp.isdir(osp.join(folder, d)))


def find_test_metrics(work_dir: str) -> tuple[Optional[str], dict]:
    """The newest mmengine test-metrics JSON of a run (see module
    docstring) and its content; ``(None, {})`` if there is none."""
    candidates = []
    for folder in (osp.join(work_dir, 'test'), work_dir):
        for ts_dir in _timestamp_dirs(folder):
            path = osp.join(ts_dir, osp.basename(ts_dir) + '.json')
            candidates.append((osp.basename(ts_dir), path))
    for _, path in sorted(candidates, reverse=True):
        content = _read_json(path)
        if content and any(k in content for k in METRIC_COLUMNS.values()):
            return path, content
    return None, {}


def _session_seconds(log_path: str) -> Optional[float]:
    """Start (from the folder's timestamp) to the last log line, if the log
    is a training log."""
    start = _dt.datetime.strptime(
        osp.basename(osp.dirname(log_path)), '%Y%m%d_%H%M%S')
    last, trained = None, False
    with open(log_path, errors='replace') as f:
        for line in f:
            m = _LOG_TIME_RE.match(line)
            if m:
                last = m
            if not trained and any(m in line for m in _TRAIN_MARKERS):
                trained = True
    if not trained or last is None:
        return None
    year, month, day, hour, minute, second = last.groups()
    end = _dt.datetime(int(year or start.year), int(month), int(day),
                       int(hour), int(minute), int(second))
    if year is None and end < start:  # the session crossed New Year
        end = end.replace(year=start.year + 1)
    return (end - start).total_seconds()


def train_time_from_logs(work_dir: str) -> Optional[float]:
    """Seconds of training of a work dir (see module docstring); None if
    no training log is found."""
    total, found = 0.0, False
    for ts_dir in _timestamp_dirs(work_dir):
        log = osp.join(ts_dir, osp.basename(ts_dir) + '.log')
        if not osp.isfile(log):
            continue
        seconds = _session_seconds(log)
        if seconds is not None:
            total, found = total + seconds, True
    return total if found else None


def collect_row(run: SweepRun, status: Optional[str] = None) -> dict:
    """The summary row of a run, read from its work dir.

    Returns:
        dict: Keys :data:`SUMMARY_COLUMNS`; metrics are floats or None.
    """
    done = _read_json(osp.join(run.work_dir, DONE_FILE)) or {}
    metrics_file = done.get('metrics_file')
    metrics = _read_json(metrics_file) if metrics_file else None
    if metrics is None:
        metrics_file, metrics = find_test_metrics(run.work_dir)
    row = dict(run=run.name)
    for column, key in METRIC_COLUMNS.items():
        value = metrics.get(key)
        row[column] = float(value) if isinstance(value, (int, float)) else None
    row['train_time_s'] = train_time_from_logs(run.work_dir)
    if row['train_time_s'] is None:
        train_done = _read_json(osp.join(run.work_dir, TRAIN_DONE_FILE))
        row['train_time_s'] = (train_done or {}).get('wall_s')
    if status is None:
        state = run_state(run)
        status = {'done': 'done', 'trained': 'trained, not tested',
                  'resume': 'partial', 'new': 'not run'}[state]
        if state != 'done' and metrics_file:
            status = 'tested (outside the sweep)'
    row['status'] = status
    row['checkpoint'] = done.get('checkpoint') or ''
    return row


def _fmt(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ''
    if isinstance(value, float):
        return f'{value:.{digits}f}'
    return str(value)


def summary_table(rows: Sequence[dict]) -> str:
    """A Markdown table of the rows (metrics to 4 decimals, time to 0)."""
    header = '| ' + ' | '.join(SUMMARY_COLUMNS) + ' |'
    rule = '|' + '|'.join(['---'] + ['---:'] * 5 + ['---', '---']) + '|'
    lines = [header, rule]
    for r in rows:
        cells = [r['run']] + [_fmt(r[c]) for c in METRIC_COLUMNS] + [
            _fmt(r['train_time_s'], 0), r['status'],
            osp.basename(r['checkpoint'] or '')
        ]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def write_summary(rows: Sequence[dict], work_root: str) -> tuple[str, str]:
    """Write ``<work_root>/summary.md`` and ``<work_root>/summary.csv``.

    The CSV has the columns of :data:`SUMMARY_COLUMNS` with full-precision
    metrics (empty when missing); ``summary.md`` has the same table.

    Returns:
        tuple[str, str]: The two paths.
    """
    os.makedirs(work_root, exist_ok=True)
    md_path = osp.join(work_root, 'summary.md')
    csv_path = osp.join(work_root, 'summary.csv')
    with open(md_path, 'w') as f:
        f.write(f'# Sweep summary ({len(rows)} runs)\n\n')
        f.write('AP, AP50: COCO bbox mAP and mAP@0.5 (pycocotools); CPM, '
                'sens@1: FROC on the test split (IoU >= 0.5); '
                'train_time_s: training wall time from the mmengine logs.\n\n')
        f.write(summary_table(rows) + '\n')
    with open(csv_path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=SUMMARY_COLUMNS)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: '' if r.get(k) is None else r[k]
                             for k in SUMMARY_COLUMNS})
    return md_path, csv_path


#: Lines of the tools' output echoed as progress: epoch summaries (the last
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


def _run_logged(cmd: list[str], log_path: str,
                echo: Optional[Callable[[str], None]] = None) -> int:
    """Run ``cmd``, its output appended to ``log_path``; the exit code.

    With ``echo``, progress lines (checkpoints saved per epoch, validation
    and test results, errors) are passed to it as they come.
    """
    os.makedirs(osp.dirname(log_path), exist_ok=True)
    with open(log_path, 'a') as log:
        log.write(f'$ {shlex.join(cmd)}\n')
        log.flush()
        # Unbuffered, so that progress shows as it happens, not per 8 kB.
        env = dict(os.environ, PYTHONUNBUFFERED='1')
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True,
                                errors='replace', env=env)
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
              tools_dir: Optional[str] = None,
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
        checkpoint (str): ``'last'`` or ``'best'`` (module docstring).
            Defaults to ``'last'``.
        dry_run (bool): Print the plan and commands; run nothing, write
            nothing. Defaults to False.
        summary_only (bool): Run nothing; write the summary of what the
            work dirs hold. Defaults to False.
        python (Sequence[str]): Interpreter (or launcher) the tools run
            with. Defaults to this interpreter.
        tools_dir (str, optional): Folder of ``train.py``/``test.py``.
            Defaults to the repository's ``tools/``.
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
        train_cmd = train_command(run, python, tools_dir, data_root,
                                  cfg_options, resume=state == 'resume')
        if dry_run:
            echo(f'{prefix}: {state}')
            if state != 'trained':
                echo('  ' + shlex.join(train_cmd))
            ckpt = (find_checkpoint(run.work_dir, checkpoint)
                    if state == 'trained' else None)
            echo('  ' + shlex.join(test_command(
                run, ckpt or f'<{checkpoint} checkpoint of {run.work_dir}>',
                python, tools_dir, data_root, cfg_options)))
            continue
        log = osp.join(run.work_dir, 'sweep.log')
        if state != 'trained':
            echo(f'{prefix}: training'
                 + (' (resuming)' if state == 'resume' else '')
                 + f', log: {log}')
            start = time.time()
            rc = _run_logged(train_cmd, log, echo)
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
        rc = _run_logged(test_command(run, ckpt, python, tools_dir, data_root,
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
