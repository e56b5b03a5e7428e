"""Train and test several configs one after another; summarise them.

Each config trains in ``WORK_ROOT/<config name>`` and is tested in
``WORK_ROOT/<config name>/test`` (by default on its last checkpoint).
Finished runs (``.done`` in their work dir) are skipped and a run killed
while training resumes from its last checkpoint, so the same command can be
rerun after an interruption. ``summary.md`` and ``summary.csv`` in WORK_ROOT
hold one row per run: AP, AP50, CPM, sens@1, training time.

Example:
    python tools/sweep.py configs/variants/retina_patch_gamma*.py \
        --work-root work_dirs/sweep_gamma --data-root "data/INbreast Release 1.0" --dry-run
"""
import argparse
import sys

from mmdet_inbreast.apis import run_sweep
from mmdet_inbreast.utils.cli import run_tool


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('configs', nargs='+', help='config files, run in order')
    p.add_argument('--work-root', default='work_dirs/sweep',
                   help='parent of the work dirs (default work_dirs/sweep)')
    p.add_argument('--data-root', help='release folder, passed to both '
                   'tools as --data-root')
    p.add_argument('--cfg-options', nargs='+',
                   help='key=value overrides passed verbatim to both tools')
    p.add_argument('--checkpoint', choices=['last', 'best'], default='last',
                   help='checkpoint to test (default: last)')
    g = p.add_mutually_exclusive_group()
    g.add_argument('--dry-run', action='store_true',
                   help='print the plan and the commands, run nothing')
    g.add_argument('--summary-only', action='store_true',
                   help='run nothing; summarise the work dirs as they are')
    return p.parse_args()


def main() -> None:
    args = parse_args()
    rows = run_sweep(args.configs, args.work_root, data_root=args.data_root,
                     cfg_options=args.cfg_options,
                     checkpoint=args.checkpoint, dry_run=args.dry_run,
                     summary_only=args.summary_only)
    if any(r['status'].startswith('failed') for r in rows):
        sys.exit(1)


if __name__ == '__main__':
    run_tool(main)
