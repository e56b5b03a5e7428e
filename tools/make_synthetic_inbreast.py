"""Write a synthetic INbreast release in the exact layout of the real one.

Example:
    python tools/make_synthetic_inbreast.py data/synthetic --num-patients 115 --scale 1.0 --seed 0
"""
import argparse
import os.path as osp

from mmdet_inbreast.datasets.synthetic import make_synthetic_release
from mmdet_inbreast.utils import InputError, run_tool


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('out_dir', help='parent folder of "INbreast Release 1.0"')
    p.add_argument('--num-patients', type=int, default=115)
    p.add_argument('--scale', type=float, default=1.0,
                   help='shrink images and masses (0.125: 416 x 510 images)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--mass-fraction', type=float, default=0.26,
                   help='share of images with masses (real: 107/410)')
    p.add_argument('--contrast', type=float, default=450.0,
                   help='peak mass brightness over tissue (14-bit units)')
    return p.parse_args()


def main() -> None:
    args = parse_args()
    if osp.exists(args.out_dir) and not osp.isdir(args.out_dir):
        raise InputError(f'{args.out_dir}: a file, not a folder; give the '
                         'folder to write "INbreast Release 1.0" into')
    for name, ok, want in [
            ('--num-patients', args.num_patients >= 1, 'at least 1'),
            ('--scale', args.scale > 0, 'above 0'),
            ('--mass-fraction', 0 <= args.mass_fraction <= 1, 'in [0, 1]'),
            ('--contrast', args.contrast > 0, 'above 0')]:
        if not ok:
            value = getattr(args, name[2:].replace('-', '_'))
            raise InputError(f'{name} {value}: must be {want}')
    images = make_synthetic_release(
        args.out_dir, num_patients=args.num_patients, scale=args.scale,
        seed=args.seed, mass_fraction=args.mass_fraction,
        contrast=args.contrast)
    masses = sum(len(i.mass_boxes) for i in images)
    print(f'wrote {len(images)} images ({masses} masses, '
          f'{len({i.patient_id for i in images})} patients) to '
          f'{osp.join(args.out_dir, "INbreast Release 1.0")}')


if __name__ == '__main__':
    run_tool(main)
