"""Time building VinDrMammoDataset on a VinDr-Mammo-sized layout.

Writes (once) the two annotation CSVs of a 20,000-image release and an empty
placeholder ``.dicom`` file per image, then builds the dataset from the
CSVs a few times and prints the build times. No DICOM is opened: that is
what the CSVs' height/width columns allow.

Example:
    python tools/analysis_tools/benchmark_vindr_build.py work_dirs/vindr_bench --images 20000 --repeats 3
"""
import argparse

from mmdet_inbreast.utils.benchmark.vindr_build import benchmark_vindr_build
from mmdet_inbreast.utils.cli import run_tool


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('out_dir', help='where the layout is written')
    parser.add_argument('--images', type=int, default=20000)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--split', default=None,
                        help="official split to build ('training', 'test')")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    result = benchmark_vindr_build(args.out_dir, args.images, args.repeats,
                                   args.split)
    print(f"layout: {result['root']} ({result['num_images']} images, "
          f"written in {result['write_s']:.1f} s)")
    print('| build | seconds | images |')
    print('|---|---|---|')
    for i, t in enumerate(result['build_s']):
        print(f"| {i + 1} | {t:.2f} | {result['dataset_len']} |")
    print(f"best {min(result['build_s']):.2f} s")


if __name__ == '__main__':
    run_tool(main)
