"""Check every DICOM header of a VinDr-Mammo release against its CSVs.

The dataset is built from the CSVs (their height/width) without opening a
DICOM; this reads each header (no pixel data) and reports, one line each,
images whose Rows x Columns disagree with the CSV row, and files that cannot
be read. Exit status 2 when any image fails.

Example:
    python tools/verify_vindr.py data/vindr-mammo --split training
"""
import argparse

from tqdm import tqdm

from mmdet_inbreast.datasets import VinDrMammoDataset
from mmdet_inbreast.utils.cli import run_tool
from mmdet_inbreast.utils.errors import InputError


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('data_root', help='the VinDr-Mammo release folder')
    p.add_argument('--split', default=None,
                   help="official split to check ('training', 'test'); "
                   'default: all images')
    p.add_argument('--ann-file', default='',
                   help='a split file of image_ids instead of --split')
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    ds = VinDrMammoDataset(data_root=args.data_root, split=args.split,
                           ann_file=args.ann_file, test_mode=True,
                           lazy_init=False)
    problems = ds.verify(
        progress=lambda it: tqdm(it, total=len(ds), desc='headers'))
    for line in problems:
        print(line)
    if problems:
        raise InputError(
            f'{args.data_root}: {len(problems)} of {len(ds)} images fail the '
            'header check (listed above); correct those CSV rows or re-copy '
            'the images')
    print(f'{len(ds)} images: every DICOM header agrees with the CSVs')


if __name__ == '__main__':
    run_tool(main)
