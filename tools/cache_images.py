"""Decode the DICOMs of a release once into uint16 .npy memory maps.

Writes CACHE_DIR/<key>.npy for every image of the release (or of --split)
that passes the release scan, skipping files newer than their DICOM;
LoadDicomImage(cache_dir=CACHE_DIR) then maps them instead of decoding
(configs/retina_patch_cached.py). Files the scan refuses or that fail to
decode are skipped and named. Temporary files of a killed run are removed
first. See mmdet_inbreast/datasets/cache.py for the file contract.

Example:
    python tools/cache_images.py "data/INbreast Release 1.0" --split splits/train.txt --cache-dir data/inbreast_cache --workers 8
"""
import argparse
import functools

from tqdm import tqdm

from mmdet_inbreast.datasets.cache import cache_images, release_dicoms
from mmdet_inbreast.datasets.inbreast_release import format_report
from mmdet_inbreast.utils.cli import run_tool


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('data_root', help='the release folder')
    p.add_argument('--split', help='split file (relative to DATA_ROOT '
                   'unless absolute); default: every image of the CSV')
    p.add_argument('--cache-dir', required=True,
                   help='output folder of <key>.npy files')
    p.add_argument('--workers', type=int, default=0,
                   help='decoding processes (0: this process)')
    p.add_argument('--force', action='store_true',
                   help='rewrite up-to-date files too')
    return p.parse_args()


def main() -> None:
    args = parse_args()
    dicoms, records, scan = release_dicoms(args.data_root, args.split)
    print(f'scan: {format_report(records, scan)}')
    report = cache_images(
        dicoms, args.cache_dir, workers=args.workers, force=args.force,
        progress=functools.partial(tqdm, total=len(dicoms), desc='images'))
    if report.stale_tmp:
        print(f'removed {len(report.stale_tmp)} temporary file(s) of an '
              f'interrupted run: {", ".join(report.stale_tmp[:5])}')
    for key, error in report.failed.items():
        print(f'skipped {key}: {error}')
    dtypes = ', '.join(sorted(report.dtypes)) or '-'
    print(f'{len(dicoms)} images: {len(report.written)} written '
          f'({report.bytes_written / 2**20:.1f} MiB, {dtypes}), '
          f'{len(report.up_to_date)} up to date, {len(report.failed)} '
          f'failed, {scan.num_skipped} skipped by the scan '
          f'-> {report.cache_dir}')


if __name__ == '__main__':
    run_tool(main)
