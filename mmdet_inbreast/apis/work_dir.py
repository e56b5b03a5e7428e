"""Read what a finished mmengine work dir holds: the sweep's markers, the
checkpoint to test, the test metrics and the training time.

Markers (JSON files the sweep and the study write next to mmengine's
output):

- ``.train_done`` (:data:`TRAIN_DONE_FILE`): training exited 0; holds the
  ``checkpoint`` kept (and, for a sweep, the command's ``wall_s``).
- ``.done`` (:data:`DONE_FILE`): the run is finished (trained and tested).

Results are read from the files mmengine writes, so work dirs trained by
hand can be read too:

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
  checkpointing and the process start-up are not included.

The tested checkpoint is, by default, the last one (``last_checkpoint``):
the split-ratio variants validate on their test split, so their "best"
checkpoint would be chosen on the test data. ``which='best'`` takes the
newest ``best_*.pth`` instead, when there is one.
"""
from __future__ import annotations

import glob
import json
import os
import os.path as osp
import re
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from .sweep import SweepRun

#: Summary columns -> metric keys of mmengine's test JSON.
METRIC_COLUMNS: dict[str, str] = {
    'AP': 'coco/bbox_mAP',
    'AP50': 'coco/bbox_mAP_50',
    'CPM': 'froc/CPM',
    'sens@1': 'froc/sens@1',
}

DONE_FILE = '.done'
TRAIN_DONE_FILE = '.train_done'
_TS_DIR_RE = re.compile(r'^\d{8}_\d{6}$')


def read_json(path: str) -> Optional[dict]:
    """The JSON object a file holds.

    Args:
        path (str): JSON file.

    Returns:
        dict, optional: Its content; None if the file is missing or
        unreadable, or does not hold a JSON object.
    """
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
        content = read_json(path)
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
