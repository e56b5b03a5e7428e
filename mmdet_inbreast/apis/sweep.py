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

Results are read from the files mmengine writes, so a summary can also be
made of work dirs trained by hand (``summary_only``):

- metrics: the newest ``<work_dir>/test/<timestamp>/<timestamp>.json`` (or
  ``<work_dir>/<timestamp>/<timestamp>.json``) holding test metrics; mmengine's
  ``LoggerHook`` writes it at the end of ``runner.test()``. AP =
  ``coco/bbox_mAP``, AP50 = ``coco/bbox_mAP_50``, CPM = ``froc/CPM``,
  sens@1 = ``froc/sens@1``.
- training time: the time of the training iterations as mmengine logs
  them in ``<timestamp>/vis_data/scalars.json``: each training line holds
  ``time``, the mean seconds per iteration over the logging window, and the
  global ``iter``; the time is the sum of ``time`` times the iterations
  since the previous line (one logging interval for a session's first
  line). The sessions of a resumed run add up, iterations that a killed
  session had done and the resumed one did again included. Validation,
  checkpointing and the process start-up are not included. Without
  scalars, the wall time of the training command recorded in
  ``.train_done`` is used.

The tested checkpoint is, by default, the last one (``last_checkpoint``):
the split-ratio variants validate on their test split, so their "best"
checkpoint would be chosen on the test data. ``checkpoint='best'`` takes the
newest ``best_*.pth`` instead, when there is one.
"""
from __future__ import annotations

import csv
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

from ..utils.errors import InputError

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


def train_time_from_scalars(work_dir: str) -> Optional[float]:
    """Seconds of training iterations of a work dir from mmengine's
    ``vis_data/scalars.json`` files (see the module docstring); None if no
    training line is found."""
    from ..visualization.history import find_scalar_files
    try:
        files = find_scalar_files(work_dir)
    except (FileNotFoundError, ValueError):  # no work dir, or no scalars
        return None
    sessions = []
    for path in files:
        lines = []
        with open(path) as f:
            for line in f:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                record = {k.split('/', 1)[-1]: v for k, v in record.items()}
                if 'iter' in record and 'time' in record:
                    lines.append((int(record['iter']), float(record['time'])))
        if lines:
            sessions.append(lines)
    all_steps = sorted(b[0] - a[0] for lines in sessions
                       for a, b in zip(lines, lines[1:]))
    total, found = 0.0, bool(sessions)
    for lines in sessions:
        iters = [it for it, _ in lines]
        steps = sorted(b - a for a, b in zip(iters, iters[1:])) or all_steps
        # The first line of a session covers one logging interval (a
        # resumed session starts after its checkpoint, not at 0).
        first = min(iters[0], steps[len(steps) // 2]) if steps else iters[0]
        deltas = [first] + [b - a for a, b in zip(iters, iters[1:])]
        total += sum(t * d for (_, t), d in zip(lines, deltas))
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
    row['train_time_s'] = train_time_from_scalars(run.work_dir)
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
                'train_time_s: time of the training iterations from '
                "mmengine's scalars.json.\n\n")
        f.write(summary_table(rows) + '\n')
    with open(csv_path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=SUMMARY_COLUMNS)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: '' if r.get(k) is None else r[k]
                             for k in SUMMARY_COLUMNS})
    return md_path, csv_path


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
        checkpoint (str): ``'last'`` or ``'best'`` (module docstring).
            Defaults to ``'last'``.
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
