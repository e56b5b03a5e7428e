"""The demo: two-phase RetinaNet training on a synthetic INbreast release.

Writes a small synthetic release, splits it by patient, computes the
zero-ignoring statistics, trains phase 1 (patches), phase 2 (full images,
backbone frozen) and the resized baseline, tests each, and writes a results
table, pictures (ground truth red, predictions blue), FROC curves and
training histories. Run through ``make demo`` on a fresh machine.

Example:
    python tools/demo.py --out-dir demo_output
"""
import argparse

from mmdet_inbreast.apis.demo import run_demo


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out-dir', default='demo_output')
    p.add_argument('--num-patients', type=int, default=30)
    p.add_argument('--scale', type=float, default=0.125)
    p.add_argument('--seed', type=int, default=0)
    return p.parse_args()


def main() -> None:
    args = parse_args()
    run_demo(args.out_dir, args.num_patients, args.scale, args.seed,
             echo=lambda m: print(m, flush=True))


if __name__ == '__main__':
    main()
