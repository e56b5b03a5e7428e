"""Write patient-grouped, mass-stratified split files of an INbreast release.

Example:
    python tools/split_patients.py "data/INbreast Release 1.0" --ratios 0.7 0.1 0.2 --seed 0
    python tools/split_patients.py "data/INbreast Release 1.0" --folds 5
"""
import argparse
import os.path as osp

from mmdet_inbreast.datasets.release import scan_release
from mmdet_inbreast.datasets.splits import (describe_split, split_by_ratios,
                                            split_folds, write_split)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('data_root', help='the release folder')
    g = p.add_mutually_exclusive_group()
    g.add_argument('--ratios', type=float, nargs='+',
                   help='2 (train test) or 3 (train val test) ratios; '
                   'default 0.7 0.1 0.2')
    g.add_argument('--folds', type=int, help='k folds instead of ratios')
    p.add_argument('--names', nargs='+',
                   help='split names (default train [val] test)')
    p.add_argument('--out-dir', help='default: DATA_ROOT/splits')
    p.add_argument('--seed', type=int, default=0)
    return p.parse_args()


def main() -> None:
    args = parse_args()
    out_dir = args.out_dir or osp.join(args.data_root, 'splits')
    records, _ = scan_release(args.data_root)
    header = f'split_patients.py seed={args.seed} '
    files = {}
    if args.folds:
        parts = split_folds(records, args.folds, args.seed)
        for k, held_out in enumerate(parts):
            rest = [key for i, p in enumerate(parts) if i != k for key in p]
            files[f'fold{k}/train.txt'] = rest
            files[f'fold{k}/val.txt'] = held_out
        header += f'folds={args.folds}'
    else:
        ratios = args.ratios or [0.7, 0.1, 0.2]
        names = args.names or (['train', 'test'] if len(ratios) == 2 else
                               ['train', 'val', 'test'])
        if len(names) != len(ratios):
            raise SystemExit(f'{len(ratios)} ratios but {len(names)} names')
        parts = split_by_ratios(records, ratios, args.seed)
        files = {f'{n}.txt': p for n, p in zip(names, parts)}
        header += f'ratios={ratios}'
    print(f'{"split":<16}{"images":>8}{"patients":>10}{"positive":>10}'
          f'{"masses":>8}')
    for name, keys in files.items():
        if not keys:
            raise SystemExit(f'{name} would be empty: use larger ratios or '
                             'fewer folds for this release')
        write_split(osp.join(out_dir, name), keys, header)
        d = describe_split(records, keys)
        print(f'{name:<16}{d["images"]:>8}{d["patients"]:>10}'
              f'{d["positive_images"]:>10}{d["masses"]:>8}')
    print(f'written to {out_dir}')


if __name__ == '__main__':
    main()
