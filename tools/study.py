"""Run a K-fold, patient-grouped study of training settings and report
means with confidence intervals and paired comparisons.

Writes fold splits and their statistics, trains and tests every variant on
every fold (resumable), then ``results.md``, ``results.csv``, ``froc.png``
and ``history.png`` in the work root. See docs/study.md.

Example:
    python tools/study.py configs/studies/demo_two_phase.py \
        --data-root "demo_output/data/INbreast Release 1.0" \
        --work-root work_dirs/study_demo
"""
import argparse

from mmdet_inbreast.utils.cli import run_tool


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('study', help='study file (configs/studies/*.py)')
    p.add_argument('--data-root', required=True, help='the release folder')
    p.add_argument('--work-root', required=True,
                   help='where folds, runs and the report go (no spaces)')
    p.add_argument('--launcher', choices=['local', 'ray'], default='local',
                   help='local: one run after another, or --gpus at once; '
                   'ray: one Ray task per run (pip install -e .[ray])')
    p.add_argument('--gpus', type=int, default=0,
                   help='GPUs: local runs this many at once, one GPU each; '
                   'ray asks one GPU per run (default 0: CPU)')
    p.add_argument('--address', help="Ray cluster to join ('auto' for the "
                   'one started with ray start on this machine)')
    p.add_argument('--resume', action='store_true',
                   help='continue the study in --work-root: finished runs '
                   'are skipped, interrupted ones resume')
    p.add_argument('--report-only', action='store_true',
                   help='run nothing; write the report of what is there')
    return p.parse_args()


def main() -> None:
    from mmdet_inbreast.study import (load_study, raise_if_failed,
                                      report_study, run_study)
    args = parse_args()
    spec = load_study(args.study)
    if args.report_only:
        report_study(spec, args.data_root, args.work_root)
        return
    out = run_study(spec, args.data_root, args.work_root,
                    launcher=args.launcher, gpus=args.gpus,
                    address=args.address, resume=args.resume,
                    echo=lambda m: print(m, flush=True))
    raise_if_failed(out)


if __name__ == '__main__':
    run_tool(main)
