"""Write patient-grouped, mass-stratified, stable split files of a release.

A patient's part depends only on its id and --seed, so adding, removing or
repairing another patient's files moves nobody else. Images the release
scan drops (broken, duplicate, orphan, refused) are counted and named.

Example:
    python tools/split_patients.py "data/INbreast Release 1.0" --ratios 0.7 0.1 0.2 --seed 0
    python tools/split_patients.py "data/INbreast Release 1.0" --ratios 0.8 0.2 --names train test --val-fraction 0.125
    python tools/split_patients.py "data/INbreast Release 1.0" --folds 5
"""
import argparse
import os.path as osp

from mmdet_inbreast.datasets.inbreast_release import (format_report,
                                                      scan_release)
from mmdet_inbreast.datasets.splits import (carve_val, describe_split,
                                            make_folds, split_by_ratios,
                                            write_split)
from mmdet_inbreast.utils.cli import run_tool
from mmdet_inbreast.utils.errors import InputError


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('data_root', help='the release folder')
    g = p.add_mutually_exclusive_group()
    g.add_argument('--ratios', type=float, nargs='+',
                   help='2 (train test) or 3 (train val test) ratios; '
                   'default 0.7 0.1 0.2')
    g.add_argument('--folds', type=int,
                   help='k folds: writes fold<i>/{train,val,test}.txt')
    p.add_argument('--names', nargs='+',
                   help='split names (default train [val] test)')
    p.add_argument('--val-fraction', type=float,
                   help='carve a val split by patient from the first split '
                   '(train) with this share of its patients; with --folds '
                   'the default is 0.125')
    p.add_argument('--out-dir', help='default: DATA_ROOT/splits')
    p.add_argument('--seed', type=int, default=0)
    return p.parse_args()


def split_files(records, args) -> tuple[dict, str]:
    """Split name -> keys, and the header line of the files."""
    header = f'split_patients.py seed={args.seed} '
    if args.folds:
        if args.folds < 2:
            raise InputError(f'--folds {args.folds}: use 2 or more folds')
        val_fraction = 0.125 if args.val_fraction is None else \
            args.val_fraction
        files = {}
        for k, fold in enumerate(make_folds(records, args.folds, args.seed,
                                            val_fraction)):
            for part in ('train', 'val', 'test'):
                files[f'fold{k}/{part}.txt'] = fold[part]
        return files, header + (f'folds={args.folds} '
                                f'val_fraction={val_fraction}')
    ratios = args.ratios or [0.7, 0.1, 0.2]
    names = args.names or (['train', 'test'] if len(ratios) == 2 else
                           ['train', 'val', 'test'])
    if len(names) != len(ratios):
        raise InputError(f'--ratios has {len(ratios)} values but --names '
                         f'{len(names)}; give one name per ratio')
    parts = split_by_ratios(records, ratios, args.seed)
    header += f'ratios={ratios}'
    if args.val_fraction is not None:
        if 'val' in names:
            raise InputError('--val-fraction carves val out of train; do '
                             'not also name a val split in --names')
        train, val = carve_val(records, parts[0], args.val_fraction,
                               args.seed)
        parts = [train, val] + parts[1:]
        names = [names[0], 'val'] + names[1:]
        header += f' val_fraction={args.val_fraction}'
    return {f'{n}.txt': p for n, p in zip(names, parts)}, header


def main() -> None:
    args = parse_args()
    out_dir = args.out_dir or osp.join(args.data_root, 'splits')
    records, report = scan_release(args.data_root)
    files, header = split_files(records, args)
    print(f'{"split":<16}{"images":>8}{"patients":>10}{"positive":>10}'
          f'{"masses":>8}')
    for name, keys in files.items():
        if not keys:
            raise InputError(
                f'{osp.join(out_dir, name)} would be empty: use larger '
                'ratios or fewer folds for this release')
        write_split(osp.join(out_dir, name), keys, header)
        d = describe_split(records, keys)
        print(f'{name:<16}{d["images"]:>8}{d["patients"]:>10}'
              f'{d["positive_images"]:>10}{d["masses"]:>8}')
    print(f'scan: {format_report(records, report).splitlines()[0]}')
    dropped = report.dropped()
    n_dropped = sum(len(v) for v in dropped.values())
    print(f'{n_dropped} image(s) or file(s) left out of the splits'
          + (':' if n_dropped else ''))
    for reason, names in dropped.items():
        print(f'  {reason} ({len(names)}): {", ".join(names)}')
    print(f'written to {out_dir}')


if __name__ == '__main__':
    run_tool(main)
