"""Write a synthetic INbreast release in the exact layout of the real one.

With --layout vindr, a synthetic VinDr-Mammo release instead (its layout:
the two annotation CSVs and images/<study_id>/<image_id>.dicom), with
--num-patients studies of four images.

Example:
    python tools/make_synthetic_inbreast.py data/synthetic --num-patients 115 --scale 1.0 --seed 0
    python tools/make_synthetic_inbreast.py data/synthetic --layout vindr --num-patients 20 --scale 0.0625
"""
import argparse
import os.path as osp

from mmdet_inbreast.datasets.synthetic import make_synthetic_release
from mmdet_inbreast.datasets.synthetic_vindr import make_synthetic_vindr
from mmdet_inbreast.utils import InputError, run_tool
from mmdet_inbreast.utils.cli import add_synthetic_args, check_synthetic_args


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('out_dir', help='parent folder of "INbreast Release 1.0"')
    add_synthetic_args(p)
    p.add_argument('--mass-fraction', type=float, default=0.26,
                   help='share of images with masses (real: 107/410)')
    p.add_argument('--layout', choices=('inbreast', 'vindr'),
                   default='inbreast',
                   help='vindr: a VinDr-Mammo release in OUT_DIR/vindr-mammo '
                   '(--num-patients studies of 4 images; --mass-fraction is '
                   'the share of images with boxed findings)')
    return p.parse_args()


def write_vindr(args) -> None:
    """The synthetic VinDr-Mammo release, and one line saying what it
    holds."""
    images = make_synthetic_vindr(
        args.out_dir, num_studies=args.num_patients, scale=args.scale,
        seed=args.seed, finding_fraction=args.mass_fraction,
        contrast=args.contrast)
    boxes = sum(1 for i in images for f in i.findings if f.box is not None)
    test = sum(1 for i in images if i.split == 'test')
    print(f'wrote {len(images)} images ({boxes} boxed findings, '
          f'{len({i.study_id for i in images})} studies, {test} images in '
          f'the official test split) to '
          f'{osp.join(args.out_dir, "vindr-mammo")}')


def main() -> None:
    args = parse_args()
    release = 'vindr-mammo' if args.layout == 'vindr' else \
        'INbreast Release 1.0'
    if osp.exists(args.out_dir) and not osp.isdir(args.out_dir):
        raise InputError(f'{args.out_dir}: a file, not a folder; give the '
                         f'folder to write "{release}" into')
    check_synthetic_args(args)
    if args.layout == 'vindr':
        return write_vindr(args)
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
