"""Run a study: one training/testing run per (fold, variant), resumable,
then the report.

The runs are planned by :mod:`mmdet_inbreast.study.plan` (which also
describes the layout of the work root). Every run trains its stages
(``python -m mmdet_inbreast.apis.train``; a stage after the first starts
from the checkpoint the previous one kept) with the fold's train split, the
statistics of that split and the fold's val split for model selection, then
tests the kept checkpoint once on the fold's test split
(``python -m mmdet_inbreast.apis.test --out``).
A finished run (``.done``) is skipped; a stage with a checkpoint but no
``.train_done`` resumes from it (``--resume``).
"""
from __future__ import annotations

import json
import os
import os.path as osp
import time
from dataclasses import asdict
from typing import Callable, Optional, Sequence

from ..apis.sweep import TEST_MODULE, TRAIN_MODULE, run_logged
from ..apis.work_dir import (DONE_FILE, TRAIN_DONE_FILE, find_checkpoint,
                             read_json)
from ..utils.errors import InputError
from .plan import (StudyRun, fit_fold_anchors, plan_runs, prepare_study,
                   variant_fold_files)
from .spec import StudySpec


def run_state(run: StudyRun) -> str:
    """``'done'``, ``'partial'`` (something was written) or ``'new'``."""
    if osp.isfile(osp.join(run.run_dir, DONE_FILE)):
        return 'done'
    if osp.isdir(run.run_dir) and os.listdir(run.run_dir):
        return 'partial'
    return 'new'


def execute_run(run: StudyRun, env: Optional[dict] = None,
                echo: Optional[Callable[[str], None]] = None) -> dict:
    """Train the stages of a run and test it, resuming what exists.

    Args:
        run (StudyRun): The run.
        env (dict, optional): Extra environment variables of the commands
            (``CUDA_VISIBLE_DEVICES``).
        echo (callable, optional): Progress lines.

    Returns:
        dict: ``status`` (``'done'`` or ``'failed (...)'``), ``log``,
        ``wall_s``.
    """
    start = time.time()
    os.makedirs(run.run_dir, exist_ok=True)
    if osp.isfile(osp.join(run.run_dir, DONE_FILE)):
        return dict(status='done', log=run.log, wall_s=0.0)
    common = ['--data-root', run.data_root, '--stats-file', run.stats_file]
    previous = None
    for i, stage in enumerate(run.stages):
        wd = stage['work_dir']
        done = read_json(osp.join(wd, TRAIN_DONE_FILE))
        if done and osp.isfile(done.get('checkpoint', '')):
            previous = done['checkpoint']
            continue
        options = list(stage['cfg_options'])
        if previous is not None:
            options.append(f'load_from={previous}')
        cmd = [*run.python, '-m', TRAIN_MODULE, stage['config'],
               '--work-dir', wd, *common]
        if osp.isfile(osp.join(wd, 'last_checkpoint')):
            cmd.append('--resume')
        cmd += ['--cfg-options', *options]
        rc = run_logged(cmd, run.log, echo, env)
        if rc != 0:
            return dict(status=f'failed (stage {i} training, exit {rc})',
                        log=run.log, wall_s=time.time() - start)
        previous = find_checkpoint(wd, run.checkpoint)
        if previous is None:
            return dict(status=f'failed (stage {i} wrote no checkpoint)',
                        log=run.log, wall_s=time.time() - start)
        with open(osp.join(wd, TRAIN_DONE_FILE), 'w') as f:
            json.dump(dict(checkpoint=previous), f)
    last = run.stages[-1]
    cmd = [*run.python, '-m', TEST_MODULE, last['config'], previous,
           '--work-dir', run.test_dir, '--out', run.predictions,
           '--metrics-out', run.metrics_file, *common, '--cfg-options',
           *last['cfg_options']]
    rc = run_logged(cmd, run.log, echo, env)
    if rc != 0 or not osp.isfile(run.predictions) or \
            read_json(run.metrics_file) is None:
        return dict(status=f'failed (testing, exit {rc})', log=run.log,
                    wall_s=time.time() - start)
    with open(osp.join(run.run_dir, DONE_FILE), 'w') as f:
        json.dump(dict(checkpoint=previous, predictions=run.predictions,
                       metrics=run.metrics_file), f)
    return dict(status='done', log=run.log, wall_s=time.time() - start)


def execute_with_retry(run: StudyRun, env: Optional[dict] = None,
                       echo: Optional[Callable[[str], None]] = None) -> dict:
    """:func:`execute_run`, once more (resuming) if it fails.

    Returns:
        dict: As :func:`execute_run`, plus ``attempts``.
    """
    result = execute_run(run, env, echo)
    attempts = 1
    if result['status'] != 'done':
        with open(run.log, 'a') as f:
            f.write(f'# {result["status"]}: retrying once\n')
        result = execute_run(run, env, echo)
        attempts = 2
    result['attempts'] = attempts
    return result


def run_study(spec: StudySpec,
              data_root: str,
              work_root: str,
              launcher: str = 'local',
              gpus: int = 0,
              address: Optional[str] = None,
              resume: bool = False,
              python: Optional[Sequence[str]] = None,
              report: bool = True,
              num_cpus: Optional[int] = None,
              echo: Callable[[str], None] = print) -> dict:
    """Run a study end to end (see the module docstring).

    Args:
        spec (StudySpec): The study (:func:`~.spec.load_study`).
        data_root (str): Release folder.
        work_root (str): Where everything goes.
        launcher (str): ``'local'`` or ``'ray'``. Defaults to ``'local'``.
        gpus (int): GPUs: local runs this many at once (one GPU each);
            Ray asks one GPU per run when > 0. Defaults to 0 (CPU).
        address (str, optional): Ray cluster address (``'auto'`` joins a
            running cluster). Defaults to None (a local Ray instance).
        resume (bool): Continue the study in ``work_root``. Defaults to
            False.
        python (Sequence[str], optional): Interpreter of the runs.
        report (bool): Write the report at the end. Defaults to True.
        num_cpus (int, optional): CPUs of a local Ray instance.
        echo (callable): Progress output.

    Returns:
        dict: ``runs`` (name -> status dict) and, with ``report``, the
        report's ``paths``.
    """
    from .launchers import launch
    data_root = osp.abspath(data_root)
    work_root = osp.abspath(work_root)
    fold_files = prepare_study(spec, data_root, work_root, resume, echo)
    files_of = variant_fold_files(spec, data_root, fold_files)
    anchor_options = fit_fold_anchors(spec, data_root, files_of, echo)
    runs = plan_runs(spec, data_root, work_root, fold_files, anchor_options,
                     python, files_of)
    statuses = launch(runs, launcher=launcher, gpus=gpus, address=address,
                      num_cpus=num_cpus, echo=echo)
    with open(osp.join(work_root, 'runs.json'), 'w') as f:
        json.dump(dict(runs=statuses,
                       plan=[asdict(r) for r in runs]), f, indent=2)
    out = dict(runs=statuses)
    if report:
        from .report import write_report
        out['paths'] = write_report(spec, work_root, runs, statuses,
                                    echo=echo)
    return out


def report_study(spec: StudySpec, data_root: str, work_root: str,
                 echo: Callable[[str], None] = print) -> dict:
    """Write the report of the runs a work root holds, running nothing.

    Returns:
        dict: Paths of the report's files.

    Raises:
        InputError: The work root holds no study.
    """
    from .report import write_report
    data_root = osp.abspath(data_root)
    work_root = osp.abspath(work_root)
    if not osp.isfile(osp.join(work_root, 'study.json')):
        raise InputError(f'{work_root}: no study.json there; run the study '
                         'first (tools/study.py STUDY --data-root R '
                         '--work-root W)')
    fold_files = prepare_study(spec, data_root, work_root, True, echo)
    files_of = variant_fold_files(spec, data_root, fold_files)
    anchor_options = fit_fold_anchors(spec, data_root, files_of, echo)
    runs = plan_runs(spec, data_root, work_root, fold_files, anchor_options,
                     files_of=files_of)
    statuses = {r.name: dict(status='done' if run_state(r) == 'done' else
                             'not run', log=r.log, wall_s=0.0)
                for r in runs}
    return write_report(spec, work_root, runs, statuses, echo=echo)


def raise_if_failed(out: dict) -> None:
    """End a command line with an error when a run of the study failed.

    Args:
        out (dict): What :func:`run_study` returned.

    Raises:
        SystemExit: Naming the failed runs (``results.md`` lists their
            logs).
    """
    failed = [n for n, s in out['runs'].items() if s['status'] != 'done']
    if failed:
        raise SystemExit(f'{len(failed)} run(s) failed: {", ".join(failed)}'
                         ' (see results.md for their logs)')
