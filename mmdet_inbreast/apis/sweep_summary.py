"""The summary of a sweep: one row per run, read from its work dir, written
as ``summary.md`` and ``summary.csv``.

The metrics, the training time and the checkpoint come from
:mod:`mmdet_inbreast.apis.work_dir`; without mmengine scalars the training
time is the wall time of the training command recorded in
``.train_done``.
"""
from __future__ import annotations

import csv
import math
import os
import os.path as osp
from typing import TYPE_CHECKING, Optional, Sequence

from .work_dir import (DONE_FILE, METRIC_COLUMNS, TRAIN_DONE_FILE,
                       find_test_metrics, read_json, run_state,
                       train_time_from_scalars)

if TYPE_CHECKING:
    from .sweep import SweepRun

SUMMARY_COLUMNS = ('run', 'AP', 'AP50', 'CPM', 'sens@1', 'train_time_s',
                   'status', 'checkpoint')


def collect_row(run: SweepRun, status: Optional[str] = None) -> dict:
    """The summary row of a run, read from its work dir.

    Returns:
        dict: Keys :data:`SUMMARY_COLUMNS`; metrics are floats or None.
    """
    done = read_json(osp.join(run.work_dir, DONE_FILE)) or {}
    metrics_file = done.get('metrics_file')
    metrics = read_json(metrics_file) if metrics_file else None
    if metrics is None:
        metrics_file, metrics = find_test_metrics(run.work_dir)
    row = dict(run=run.name)
    for column, key in METRIC_COLUMNS.items():
        value = metrics.get(key)
        row[column] = float(value) if isinstance(value, (int, float)) else None
    row['train_time_s'] = train_time_from_scalars(run.work_dir)
    if row['train_time_s'] is None:
        train_done = read_json(osp.join(run.work_dir, TRAIN_DONE_FILE))
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
