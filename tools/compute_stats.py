"""Mean and std of the non-zero pixels of a split (zero-ignoring statistics).

The statistics of ``<dir>/<name>.txt`` are written beside it, to
``<dir>/<name>.stats.json``, with the sha256 of the split file; no other
file is ever written, so one split's statistics never overwrite another's.

Example:
    python tools/compute_stats.py "data/INbreast Release 1.0" --split splits/train.txt
    python tools/compute_stats.py "data/INbreast Release 1.0" --split splits/ratio8-2/train.txt
    python tools/compute_stats.py data/vindr-mammo --split splits/train.txt
"""
import argparse
import os.path as osp

from tqdm import tqdm

from mmdet_inbreast.datasets.stats import (compute_split_stats,
                                           stats_path_for_split)
from mmdet_inbreast.utils.cli import run_tool
from mmdet_inbreast.utils.errors import InputError


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('data_root', help='the release folder (INbreast or '
                   'VinDr-Mammo)')
    p.add_argument('--split', required=True,
                   help='split file (relative to DATA_ROOT unless absolute); '
                   'its statistics go to <split>.stats.json beside it')
    p.add_argument('--out', help='must be the split\'s own '
                   '<split>.stats.json (kept for old scripts; any other '
                   'path is refused)')
    return p.parse_args()


def main() -> None:
    args = parse_args()
    split_path = args.split if osp.isabs(args.split) else osp.join(
        args.data_root, args.split)
    own = stats_path_for_split(split_path)
    if args.out and osp.abspath(args.out) != osp.abspath(own):
        raise InputError(
            f'--out {args.out}: the statistics of {args.split} belong beside '
            f'it at {own}, and another path could overwrite the statistics '
            'of another split; drop --out')
    out, stats = compute_split_stats(
        args.data_root, args.split,
        progress=lambda it: tqdm(it, desc='images', unit=' images'))
    print(f"mean {stats['mean']:.4f}  std {stats['std']:.4f} over "
          f"{stats['num_pixels']:,} non-zero pixels of {stats['num_images']} "
          f"images ({len(stats['skipped'])} skipped) -> {out}")


if __name__ == '__main__':
    run_tool(main)
