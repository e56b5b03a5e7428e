r"""Time the vectorised FROC against the plain-Python reference.

Prints the seconds of matching + curve + points on a large synthetic set
(default 2000 images x 300 predictions), the same on a smaller set for both
the vectorised code and :func:`froc_reference` (their ratio, and their
largest difference, which must be 0), and the time of a patient bootstrap.
Times are the best of ``--repeat`` runs on this machine; nothing is asserted.

Example:
    python tools/analysis_tools/benchmark_froc.py --images 2000 --preds 300 \
        --small-images 200 --small-preds 100
"""
import argparse
import time
from typing import Callable, Tuple

import numpy as np

from mmdet_inbreast.evaluation.functional import (bootstrap_cpm, froc_curve,
                                                  match_images,
                                                  sensitivity_at)
from mmdet_inbreast.testing import froc_reference, random_detections
from mmdet_inbreast.utils.cli import run_tool


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--images', type=int, default=2000)
    parser.add_argument('--preds', type=int, default=300,
                        help='predictions per image')
    parser.add_argument('--small-images', type=int, default=200)
    parser.add_argument('--small-preds', type=int, default=100)
    parser.add_argument('--bootstrap', type=int, default=1000,
                        help='bootstrap samples, timed on the small set')
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--hit', default='iou', choices=['iou', 'center'])
    return parser.parse_args()


def best_time(fn: Callable, repeat: int) -> Tuple[float, object]:
    """Smallest wall time of ``repeat`` calls, and the last result."""
    best, out = float('inf'), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    args = parse_args()

    def vectorised(data):
        return sensitivity_at(froc_curve(match_images(*data, hit=args.hit)))

    large = random_detections(args.images, args.preds)
    t_large, sens = best_time(lambda: vectorised(large), args.repeat)
    print(f'vectorised, {args.images} images x {args.preds} predictions: '
          f'{t_large:.3f} s  (CPM {np.mean(sens):.4f})')

    small = random_detections(args.small_images, args.small_preds, seed=1)
    t_vec, sens = best_time(lambda: vectorised(small), args.repeat)
    t_ref, ref = best_time(
        lambda: froc_reference(*small, hit=args.hit), args.repeat)
    print(f'{args.small_images} images x {args.small_preds} predictions: '
          f'vectorised {t_vec:.4f} s, reference {t_ref:.3f} s, '
          f'ratio {t_ref / t_vec:.0f}x, '
          f'max |difference| {np.max(np.abs(sens - np.asarray(ref))):.1e}')

    if args.bootstrap:
        matches = match_images(*small, hit=args.hit)
        patients = np.arange(args.small_images) // 4  # 4 views per patient
        t_boot, (low, high, _) = best_time(
            lambda: bootstrap_cpm(
                matches, patients, num_samples=args.bootstrap), 1)
        print(f'bootstrap, {args.bootstrap} samples of '
              f'{len(set(patients))} patients: {t_boot:.3f} s '
              f'(CPM 95 % interval [{low:.4f}, {high:.4f}])')


if __name__ == '__main__':
    run_tool(main)
