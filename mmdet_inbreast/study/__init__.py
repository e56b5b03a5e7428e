"""Cross-validated, patient-grouped studies: compare training settings with
confidence intervals and paired tests.

Not imported by ``mmdet_inbreast/__init__.py`` (nothing here registers a
component). ``tools/study.py`` is the command line; see ``docs/study.md``.
"""
from .folds import (check_out_of_fold, make_folds, write_fold_files,
                    write_split_and_stats, write_splits_and_stats)
from .launchers import LAUNCHERS, launch, launch_local, launch_ray
from .plan import StudyRun, plan_runs, prepare_study, split_options
from .pooling import load_predictions, pool_variant
from .report import write_report
from .runner import (execute_run, execute_with_retry, raise_if_failed,
                     report_study, run_state, run_study)
from .spec import Stage, StudySpec, Variant, load_study

__all__ = [
    'LAUNCHERS', 'Stage', 'StudyRun', 'StudySpec', 'Variant',
    'check_out_of_fold', 'execute_run', 'execute_with_retry', 'launch',
    'launch_local', 'launch_ray', 'load_predictions', 'load_study',
    'make_folds', 'plan_runs', 'pool_variant', 'prepare_study',
    'raise_if_failed',
    'report_study', 'run_state',
    'run_study', 'split_options', 'write_fold_files', 'write_report',
    'write_split_and_stats', 'write_splits_and_stats'
]
