r"""Draw training histories (loss, AP50, CPM per epoch) of one or more runs.

Reads mmengine's ``<work_dir>/<timestamp>/vis_data/scalars.json`` of each
WORK_DIR (resumed runs: all timestamps, in order) and writes
``PREFIX.png`` and ``PREFIX.svg``: one subplot per loss and metric present,
one line per run. Legend labels default to the work dirs' names. A table of
the best values is printed.

Example:
    python tools/plot_history.py work_dirs/retina_gamma1 \
        work_dirs/retina_gamma2 work_dirs/retina_gamma3 \
        --labels 'gamma 1' 'gamma 2' 'gamma 3' \
        --out figures/history_gamma --metrics coco/bbox_mAP_50 froc/CPM
"""
import argparse
import os.path as osp

from mmdet_inbreast.utils import InputError, run_tool
from mmdet_inbreast.visualization import (DEFAULT_METRICS, history_table,
                                          load_history, plot_histories)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dirs', nargs='+', metavar='WORK_DIR',
                        help='work dir of a training run')
    parser.add_argument('--out', required=True,
                        help='output prefix; .png and .svg are added')
    parser.add_argument('--labels', nargs='+',
                        help='legend labels, one per WORK_DIR')
    parser.add_argument('--metrics', nargs='+', default=list(DEFAULT_METRICS),
                        help='validation keys to draw (those present)')
    parser.add_argument('--losses', nargs='+', default=['loss'],
                        help='training loss keys to draw (those present)')
    parser.add_argument('--title', help='figure title')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.labels is not None and len(args.labels) != len(args.work_dirs):
        raise InputError(f'{len(args.work_dirs)} work dirs but '
                         f'{len(args.labels)} labels: give one per work dir')
    labels = args.labels or [
        osp.basename(osp.normpath(osp.abspath(d))) for d in args.work_dirs
    ]
    if len(set(labels)) != len(labels):
        raise InputError(f'labels must differ, got {labels}; use --labels')
    histories = {
        label: load_history(work_dir)
        for label, work_dir in zip(labels, args.work_dirs)
    }
    print('\n'.join(history_table(histories, args.metrics)))
    for path in plot_histories(histories, args.out, args.metrics,
                               args.losses, args.title):
        print(f'saved {path}')


if __name__ == '__main__':
    run_tool(main)
