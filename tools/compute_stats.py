"""Mean and std of the non-zero pixels of a split (zero-ignoring statistics).

Example:
    python tools/compute_stats.py "data/INbreast Release 1.0" --split splits/train.txt
"""
import argparse
import json
import os
import os.path as osp

from tqdm import tqdm

from mmdet_inbreast.datasets.release import read_split_file, scan_release
from mmdet_inbreast.datasets.stats import nonzero_stats
from mmdet_inbreast.datasets.transforms.loading import read_dicom_pixels


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('data_root', help='the release folder')
    p.add_argument('--split', help='split file (relative to DATA_ROOT '
                   'unless absolute); default: all images')
    p.add_argument('--out', help='JSON path; default: '
                   'DATA_ROOT/splits/<split>_stats.json')
    return p.parse_args()


def main() -> None:
    args = parse_args()
    split = args.split and (args.split if osp.isabs(args.split) else
                            osp.join(args.data_root, args.split))
    keys = read_split_file(split) if split else None
    records, _ = scan_release(args.data_root, keys=keys, strict=True)
    name = osp.splitext(osp.basename(split))[0] if split else 'all'
    out = args.out or osp.join(args.data_root, 'splits', f'{name}_stats.json')
    stats = nonzero_stats(
        (read_dicom_pixels(r.img_path)[0] for r in records),
        progress=lambda it: tqdm(it, total=len(records), desc='images'))
    stats.update(split=split, command='python tools/compute_stats.py '
                 f'"{args.data_root}"' + (f' --split {args.split}'
                                          if args.split else ''))
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(stats, f, indent=2)
    print(f"mean {stats['mean']:.4f}  std {stats['std']:.4f} over "
          f"{stats['num_pixels']:,} non-zero pixels of {stats['num_images']} "
          f'images -> {out}')


if __name__ == '__main__':
    main()
