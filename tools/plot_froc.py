r"""Draw the FROC curves of one or more runs (log FP/image axis) to an image.

Each RUN is a ``*.froc.json`` file written by
``FROCMetric(outfile_prefix=...)`` or a work dir, in which the newest
``*.froc.json`` is taken. Legend labels default to the work dir's name (the
file's parent folder); the legend shows the CPM. A table of the points is
printed.

Example:
    python tools/plot_froc.py work_dirs/retina_r50 \
        work_dirs/retina_r50_optanchors/test.froc.json \
        --labels 'default anchors' 'optimised anchors' --out figures/froc.png
"""
import argparse

from mmdet_inbreast.utils import InputError, run_tool
from mmdet_inbreast.visualization import (find_froc_json, froc_table,
                                          load_froc_json, plot_froc_curves,
                                          run_label)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'runs', nargs='+', metavar='RUN',
        help='*.froc.json file or work dir (newest *.froc.json in it)')
    parser.add_argument(
        '--out', required=True, help='output image (.png, .svg or .pdf)')
    parser.add_argument(
        '--labels', nargs='+', help='legend labels, one per RUN')
    parser.add_argument('--title', help='figure title')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.labels is not None and len(args.labels) != len(args.runs):
        raise InputError(f'{len(args.runs)} runs but {len(args.labels)} '
                         f'labels: give one label per run')
    paths = [find_froc_json(run) for run in args.runs]
    runs = [load_froc_json(path) for path in paths]
    labels = args.labels or [run_label(run) for run in args.runs]
    for label, path in zip(labels, paths):
        print(f'{label}: {path}')
    print('\n'.join(froc_table(runs, labels)))
    print(f'saved {plot_froc_curves(runs, labels, args.out, args.title)}')


if __name__ == '__main__':
    run_tool(main)
