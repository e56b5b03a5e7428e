"""Time the training data pipeline per sample against DICOM decoding.

Writes a synthetic release at real size (3328 x 4084 / 2560 x 3328, 16-bit)
unless --data-root names a release, caches the decoded images as .npy, and
prints the median ms per sample of (a) pydicom's dcmread().pixel_array,
(b) the project's pipeline (load uint16, crop, then normalise),
(c) a naive pipeline (float32, normalise, 3 channels, then crop) and
(d) the project's pipeline on the .npy cache, with b/a, c/a, d/a. Nothing is
asserted; numbers depend on the machine (method:
mmdet_inbreast/utils/benchmark/pipeline.py).

Example:
    python tools/analysis_tools/benchmark_pipeline.py --scale 1.0 --num-images 8 --repeats 5 --out work_dirs/benchmark_pipeline.json
"""
import argparse
import json
import os
import os.path as osp
import platform

from mmdet_inbreast.utils.benchmark.pipeline import format_table, run_benchmark
from mmdet_inbreast.utils.cli import run_tool


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data-root', help='an existing release folder; default: '
                   'write a synthetic one')
    p.add_argument('--work-dir', help='where the synthetic release and the '
                   'cache go; default: a temporary folder, removed after')
    p.add_argument('--scale', type=float, default=1.0,
                   help='synthetic image scale (1.0: real size)')
    p.add_argument('--num-images', type=int, default=8)
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--crop-size', type=int, default=1024)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', help='JSON of the results (optional)')
    return p.parse_args()


def main() -> None:
    args = parse_args()
    report = run_benchmark(
        data_root=args.data_root, work_dir=args.work_dir, scale=args.scale,
        num_images=args.num_images, repeats=args.repeats,
        crop_size=args.crop_size, seed=args.seed,
        progress=lambda line: print(line, flush=True))
    report['machine'] = f'{platform.processor() or platform.machine()}, ' \
        f'{os.cpu_count()} CPUs'
    sizes = ', '.join(f'{w} x {h}' for h, w in report['sizes'])
    print(format_table(
        report['results'],
        header=f"{report['images']} images ({sizes}, {report['dtype']}), "
        f"crop {args.crop_size}, per image the median of {args.repeats} "
        "runs"))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=2, default=str)
        print(f'written to {args.out}')


if __name__ == '__main__':
    run_tool(main)
