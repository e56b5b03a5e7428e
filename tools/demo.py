"""The demo: a 3-fold study of two-phase against resized training on a
synthetic release, with confidence intervals, on a CPU.

Writes a small synthetic release (30 patients, 1/8 scale), runs
configs/studies/demo_two_phase.py on it and writes the report
(results.md: per-fold means with 95 % intervals, pooled out-of-fold
metrics, the paired comparison; froc.png; history.png). Rerunning resumes.
Run through ``make demo`` on a fresh machine.

``--study vindr_pretrain`` runs the other demo study instead: a synthetic
VinDr-Mammo release, the demo VinDr phase 1 on it, then
configs/studies/demo_vindr_pretrain.py (two-phase from scratch against
two-phase from the VinDr model; study_vindr_pretrain/results.md).

Example:
    python tools/demo.py --out-dir demo_output
    python tools/demo.py --out-dir demo_output --study vindr_pretrain
"""
import argparse

from mmdet_inbreast.utils.cli import (add_synthetic_args,
                                     check_synthetic_args, run_tool)


def parse_args() -> argparse.Namespace:
    from mmdet_inbreast.apis.demo import DEMO_RELEASE
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out-dir', default='demo_output')
    add_synthetic_args(p, DEMO_RELEASE['num_patients'],
                       DEMO_RELEASE['scale'], DEMO_RELEASE['contrast'])
    p.add_argument('--study', choices=('two_phase', 'vindr_pretrain'),
                   default='two_phase',
                   help='two_phase: configs/studies/demo_two_phase.py; '
                   'vindr_pretrain: configs/studies/demo_vindr_pretrain.py '
                   'after the demo VinDr-Mammo phase 1')
    return p.parse_args()


def main() -> None:
    from mmdet_inbreast.apis.demo import run_demo
    from mmdet_inbreast.study import raise_if_failed
    args = parse_args()
    check_synthetic_args(args)
    out = run_demo(args.out_dir, args.num_patients, args.scale, args.seed,
                   args.contrast, study=args.study,
                   echo=lambda m: print(m, flush=True))
    raise_if_failed(out)


if __name__ == '__main__':
    run_tool(main)
