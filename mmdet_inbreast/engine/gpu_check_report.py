"""The table of ``tools/gpu_check.sh``: one Markdown table and one JSON
from the JSON files that ``tools/benchmark_train.py`` wrote.

Example:
    python -m mmdet_inbreast.engine.gpu_check_report work_dirs/gpu_check
"""
from __future__ import annotations

import argparse
import json
import os.path as osp
from typing import Optional


def _load(out_dir: str, name: str) -> Optional[dict]:
    path = osp.join(out_dir, f'{name}.json')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def _fmt(value: Optional[float], digits: int = 1) -> str:
    return '' if value is None else f'{value:.{digits}f}'


def gpu_check_rows(out_dir: str) -> list[dict]:
    """Rows (run, batch, input, dtype, img/s, peak GiB, note) of a check.

    Args:
        out_dir (str): Folder with ``phase1.json``, ``phase2.json`` and
            (optionally) ``stock_fp16.json``.

    Returns:
        list[dict]: One row per measured run; a run whose JSON is missing
        is a row whose note says so (nothing is dropped silently).
    """
    rows = []

    def add(run, report, key, note=''):
        if report is None:
            rows.append(dict(run=run, note='not run (no JSON)'))
            return
        t = report.get(key) or {}
        mib = t.get('peak_mem_mib')
        rows.append(dict(
            run=run, batch=report.get('batch_size'),
            input=report.get('input'), dtype=report.get('amp_dtype'),
            rate=t.get('rate'),
            peak_gib=None if mib is None else mib / 1024,
            note=t.get('error') or note))

    p1 = _load(out_dir, 'phase1')
    add('phase 1, ours (bf16, channels-last, TorchSigmoidFocalLoss, '
        'torch NMS)', p1, 'ours')
    peer = (p1 or {}).get('peer')
    if peer is not None:
        rows.append(dict(run="phase 1, torchvision retinanet_resnet50_fpn",
                         batch=peer['batch_size'], input=peer['input'],
                         dtype=peer['amp_dtype'], rate=peer['img_per_s'],
                         peak_gib=peer['peak_gib'],
                         note=peer['error'] or ''))
    stock = _load(out_dir, 'stock_fp16')
    if stock is not None:
        add("phase 1, stock mmdet (FocalLoss)", stock, 'stock')
    add('phase 2, full images, frozen backbone', _load(out_dir, 'phase2'),
        'ours')
    if p1 is not None:
        d = p1.get('data') or {}
        rows.append(dict(run='loader (phase-1 pipeline, decoded cache), '
                         'samples/s',
                         batch=p1.get('batch_size'), input='loader',
                         dtype=None, rate=d.get('rate'), peak_gib=None,
                         note=d.get('error') or ''))
    return rows


def format_rows(rows: list[dict]) -> str:
    """Markdown table of :func:`gpu_check_rows`."""
    lines = ['| run | batch | input | dtype | img/s | peak GiB | note |',
             '|---|---|---|---|---|---|---|']
    for r in rows:
        lines.append(
            f"| {r['run']} | {r.get('batch') or ''} | {r.get('input') or ''}"
            f" | {r.get('dtype') or 'float32'} | {_fmt(r.get('rate'))} | "
            f"{_fmt(r.get('peak_gib'), 2)} | {r.get('note') or ''} |")
    return '\n'.join(lines)


def main(argv: Optional[list[str]] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('out_dir')
    p.add_argument('--dry-run', default='0',
                   help="'1': figures are CPU smoke runs, not GPU figures")
    p.add_argument('--tests-log', help='pytest output to summarise')
    args = p.parse_args(argv)
    rows = gpu_check_rows(args.out_dir)
    table = format_rows(rows)
    tests = None
    if args.tests_log and osp.isfile(args.tests_log):
        with open(args.tests_log) as f:
            lines = [ln.strip() for ln in f if ln.strip()]
        tests = lines[-1] if lines else None
    dry = args.dry_run == '1'
    if dry:
        print('dry run on the CPU: code paths only, these are not GPU '
              'figures')
    print(f'gpu tests: {tests}')
    print(table)
    out = osp.join(args.out_dir, 'gpu_check.json')
    with open(out, 'w') as f:
        json.dump(dict(dry_run=dry, tests=tests, rows=rows, table=table), f,
                  indent=2)
    print(f'written to {out}')


if __name__ == '__main__':
    main()
