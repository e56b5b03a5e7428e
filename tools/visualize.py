"""Draw the predictions of a checkpoint on the full mammograms of a split.

One PNG per image (windowed for display, downscaled to ``--max-size``;
ground truth red, predictions with score >= ``--score-thr`` blue with their
score) and ``contact_sheet.png`` with the best images and the worst
failures, ranked by missed boxes (IoU >= 0.5), then false positives (the
sheet says so when no image fails). ``hits.csv`` lists every image in that
order.

Example:
    python tools/visualize.py configs/retina_full.py \
        work_dirs/retina_full/epoch_12.pth --split test --out work_dirs/vis
"""
import argparse
import csv
import os.path as osp
import sys

from tqdm import tqdm

from mmdet_inbreast.apis import (init_inbreast_detector, load_split_infos,
                                 visualize_split)
from mmdet_inbreast.utils import InputError
from mmdet_inbreast.utils.cli import add_model_args, run_tool


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_args(p)
    p.add_argument('--split', default='test',
                   help="'test', 'val', 'train' (the config's splits) or a "
                   'split file (default: test)')
    p.add_argument('--out', default='vis_out', help='output folder')
    p.add_argument('--score-thr', type=float, default=0.3,
                   help='predictions drawn and counted (default 0.3)')
    p.add_argument('--max-size', type=int, default=1024,
                   help='longest side of each PNG (default 1024)')
    p.add_argument('--num', type=int, default=4,
                   help='best and worst images on the contact sheet (each)')
    return p.parse_args()


def main() -> None:
    args = parse_args()
    model = init_inbreast_detector(
        args.config, args.checkpoint, device=args.device,
        cfg_options=args.cfg_options, data_root=args.data_root,
        stats_file=args.stats_file, score_thr=args.score_thr)
    infos = load_split_infos(model.cfg, args.split)
    if not infos:
        raise InputError(
            f'split {args.split!r} of {args.config} holds no image; give '
            'another --split (test, val, train or a split file)')
    rows = visualize_split(
        model, infos, args.out, score_thr=args.score_thr,
        max_size=args.max_size, num=args.num,
        progress=lambda it: tqdm(it, desc='images', file=sys.stderr))
    with open(osp.join(args.out, 'hits.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f'{"rank":>5} {"image":<10}{"found":>8}{"FP":>5}')
    shown = rows if len(rows) <= 2 * args.num else (
        rows[:args.num] + rows[-args.num:])
    for r in shown:
        print(f'{r["rank"]:>5} {r["file_name"]:<10}'
              f'{r["tp"]:>4}/{r["num_gt"]:<3}{r["fp"]:>5}')
    print(f'{len(rows)} images -> {args.out} '
          f'(contact_sheet.png, hits.csv)')


if __name__ == '__main__':
    run_tool(main)
