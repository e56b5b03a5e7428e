"""Write patient-grouped, mass-stratified, stable split files of a release.

A patient's part depends only on its id and --seed, so adding, removing or
repairing another patient's files moves nobody else. Images the release
scan drops (broken, duplicate, orphan, refused) are counted and named.

INbreast groups by the patient hash of the DICOM names. A VinDr-Mammo
release (recognised by its breast-level_annotations.csv, or --layout
vindr) groups by study_id and is carved from the official training split
(--official-split), so that the official test split stays untouched.

Example:
    python tools/split_patients.py "data/INbreast Release 1.0" --ratios 0.7 0.1 0.2 --seed 0
    python tools/split_patients.py "data/INbreast Release 1.0" --ratios 0.8 0.2 --names train test --val-fraction 0.125
    python tools/split_patients.py "data/INbreast Release 1.0" --folds 5
    python tools/split_patients.py data/vindr-mammo --ratios 0.8 0.2 --names train val
"""
import argparse
import os.path as osp

from mmdet_inbreast.datasets.records import format_summary
from mmdet_inbreast.datasets.inbreast_release import (format_report,
                                                      scan_release)
from mmdet_inbreast.datasets.splits import (carve_val, describe_split,
                                            make_folds, split_by_ratios,
                                            write_split)
from mmdet_inbreast.datasets.vindr_release.splits import (
    is_vindr_layout, scan_vindr_for_splits)
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
    p.add_argument('--layout', choices=('auto', 'inbreast', 'vindr'),
                   default='auto',
                   help='release layout; auto: vindr when DATA_ROOT holds '
                   'breast-level_annotations.csv, else inbreast')
    p.add_argument('--official-split', default='training',
                   help='VinDr-Mammo: the official split value to split '
                   "(default training); 'all' for every image")
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


def read_release(args) -> tuple[list, str, dict, str]:
    """(records, summary line, left-out things by reason, the header's
    layout suffix) of the INbreast or VinDr-Mammo release."""
    if not osp.isdir(args.data_root):
        raise InputError(f'{args.data_root}: not a folder; give the release '
                         'folder')
    layout = args.layout
    if layout == 'auto':
        layout = 'vindr' if is_vindr_layout(args.data_root) else 'inbreast'
    if layout == 'inbreast':
        records, report = scan_release(args.data_root)
        return (records, format_report(records, report).splitlines()[0],
                report.dropped(), '')
    split = None if args.official_split == 'all' else args.official_split
    records, report = scan_vindr_for_splits(args.data_root, split)
    summary = format_summary(records, report, ('mass', ), 'studies',
                             max_problems=0).splitlines()[0]
    return (records, summary, dict(report.skipped),
            f' layout=vindr official_split={args.official_split}')


def main() -> None:
    args = parse_args()
    out_dir = args.out_dir or osp.join(args.data_root, 'splits')
    records, summary, dropped, layout = read_release(args)
    files, header = split_files(records, args)
    header += layout
    group = 'studies' if layout else 'patients'
    print(f'{"split":<16}{"images":>8}{group:>10}{"positive":>10}'
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
    print(f'scan: {summary}')
    n_dropped = sum(len(v) for v in dropped.values())
    print(f'{n_dropped} image(s) or file(s) left out of the splits'
          + (':' if n_dropped else ''))
    for reason, names in dropped.items():
        print(f'  {reason} ({len(names)}): {", ".join(names)}')
    print(f'written to {out_dir}')


if __name__ == '__main__':
    run_tool(main)
