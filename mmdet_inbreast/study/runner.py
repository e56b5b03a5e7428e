"""Run a study: folds, one training/testing run per (fold, variant),
resumable, then the report.

Layout of the work root ``W``::

    W/study.json                      the study, its folds' sizes
    W/folds/fold<k>/{train,val,test}.txt, train.stats.json
    W/folds/fold<k>/anchors_<variant>.json   (variants with fit_anchors)
    W/runs/fold<k>/<variant>/
        stage<i>/                     mmengine work dir of training stage i
        stage<i>/.train_done          JSON: the checkpoint kept
        test/predictions.pkl          every test image's data sample
        test/metrics.json             test metrics (COCO and FROC)
        run.log                       output of every command of the run
        .done                         JSON: the run is finished
    W/runs.json                       status of every run
    W/results.md, results.csv, froc.png, history.png

Every run trains its stages (``python -m mmdet_inbreast.apis.train``; a
stage after the first starts from the checkpoint the previous one kept)
with the fold's train split, the statistics of that split and the fold's
val split for model selection, then tests the kept checkpoint once on the
fold's test split (``python -m mmdet_inbreast.apis.test --out``).
A finished run (``.done``) is skipped; a stage with a checkpoint but no
``.train_done`` resumes from it (``--resume``).
"""
from __future__ import annotations

import json
import os
import os.path as osp
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional, Sequence

from ..apis.sweep import (TEST_MODULE, TRAIN_MODULE, find_checkpoint,
                          run_logged)
from ..utils.errors import InputError
from .spec import StudySpec

DONE_FILE = '.done'
TRAIN_DONE_FILE = '.train_done'


@dataclass
class StudyRun:
    """One (fold, variant) run; plain data, so that it travels to a Ray
    worker.

    Attributes:
        fold (int): Fold index.
        variant (str): Variant name.
        run_dir (str): ``W/runs/fold<k>/<variant>``.
        stages (list[dict]): Per stage ``config``, ``cfg_options`` (every
            option but ``load_from``) and ``work_dir``.
        data_root (str): Release folder.
        stats_file (str): Statistics of the fold's train split.
        checkpoint (str): ``'best'`` or ``'last'``.
        python (list[str]): Interpreter that runs the modules.
    """
    fold: int
    variant: str
    run_dir: str
    stages: list
    data_root: str
    stats_file: str
    checkpoint: str = 'best'
    python: list = field(default_factory=lambda: [sys.executable])

    @property
    def name(self) -> str:
        return f'fold{self.fold}/{self.variant}'

    @property
    def test_dir(self) -> str:
        return osp.join(self.run_dir, 'test')

    @property
    def predictions(self) -> str:
        return osp.join(self.test_dir, 'predictions.pkl')

    @property
    def metrics_file(self) -> str:
        return osp.join(self.test_dir, 'metrics.json')

    @property
    def log(self) -> str:
        return osp.join(self.run_dir, 'run.log')


def run_state(run: StudyRun) -> str:
    """``'done'``, ``'partial'`` (something was written) or ``'new'``."""
    if osp.isfile(osp.join(run.run_dir, DONE_FILE)):
        return 'done'
    if osp.isdir(run.run_dir) and os.listdir(run.run_dir):
        return 'partial'
    return 'new'


def _innermost(cfg: dict, key: str) -> Optional[str]:
    """Dotted path of the innermost dataset of ``cfg[key]`` holding
    ``ann_file`` (dataset wrappers unwrapped), or None."""
    node, path = cfg.get(key), key
    if node is None or 'dataset' not in node:
        return None
    node, path = node['dataset'], path + '.dataset'
    while 'ann_file' not in node and 'dataset' in node:
        node, path = node['dataset'], path + '.dataset'
    return path if 'ann_file' in node else None


def split_options(config: str, splits: dict) -> list[str]:
    """``--cfg-options`` that point the config's train, val and test
    datasets at the given split files.

    Args:
        config (str): Config path.
        splits (dict): ``train``, ``val``, ``test`` split paths.

    Returns:
        list[str]: ``<path>.ann_file=<split>`` strings.

    Raises:
        InputError: A dataloader has no dataset with ``ann_file``.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(config).to_dict()
    options = []
    for part in ('train', 'val', 'test'):
        path = _innermost(cfg, f'{part}_dataloader')
        if path is None:
            raise InputError(f'{config}: {part}_dataloader has no dataset '
                             'with ann_file; a study sets each split file')
        options.append(f'{path}.ann_file={splits[part]}')
    return options


def _read_json(path: str) -> Optional[dict]:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


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
        done = _read_json(osp.join(wd, TRAIN_DONE_FILE))
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
            _read_json(run.metrics_file) is None:
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


def variant_fold_files(spec: StudySpec, data_root: str,
                       fold_files: Sequence[dict]) -> dict:
    """Split files of every (fold, variant): the fold's, except for
    variants with ``train_fraction < 1``, which train on a subset of the
    fold's training patients (``fold<k>/train_<variant>.txt`` and its
    statistics, written once).

    Returns:
        dict: ``(fold, variant)`` -> ``train``, ``val``, ``test``,
        ``stats`` paths.
    """
    from ..datasets import read_split_file, scan_release
    from ..datasets.splits import describe_split, split_by_ratios
    from .folds import write_split_and_stats
    out, records = {}, None
    for k, files in enumerate(fold_files):
        for v in spec.variants:
            if v.train_fraction >= 1:
                out[(k, v.name)] = dict(files)
                continue
            path = osp.join(osp.dirname(files['train']),
                            f'train_{v.name}.txt')
            stats = osp.splitext(path)[0] + '.stats.json'
            if not osp.isfile(stats):
                if records is None:
                    records, _ = scan_release(data_root)
                train = set(read_split_file(files['train']))
                subset = [r for r in records if r.file_name in train]
                keys = split_by_ratios(
                    subset, [v.train_fraction, 1 - v.train_fraction],
                    seed=spec.seed + k)[0]
                d = describe_split(subset, keys)
                write_split_and_stats(
                    data_root, path, keys,
                    f'{v.train_fraction:g} of the training patients of '
                    f'fold {k}: {d["patients"]} patients, {d["images"]} '
                    f'images, {d["masses"]} masses')
            out[(k, v.name)] = dict(files, train=path, stats=stats)
    return out


def plan_runs(spec: StudySpec, data_root: str, work_root: str,
              fold_files: Sequence[dict],
              anchor_options: Optional[dict] = None,
              python: Optional[Sequence[str]] = None,
              files_of: Optional[dict] = None) -> list[StudyRun]:
    """One :class:`StudyRun` per (fold, variant), fold-major.

    Args:
        spec (StudySpec): The study.
        data_root (str): Release folder.
        work_root (str): The study's work root.
        fold_files (Sequence[dict]): :func:`~.folds.write_fold_files`.
        anchor_options (dict, optional): ``(fold, variant)`` -> extra
            options of the per-fold anchors.
        python (Sequence[str], optional): Interpreter. Defaults to this one.
        files_of (dict, optional): :func:`variant_fold_files`; defaults to
            the fold's files for every variant.

    Returns:
        list[StudyRun]: The runs.
    """
    runs = []
    cache: dict[str, list[str]] = {}
    for k, fold in enumerate(fold_files):
        for v in spec.variants:
            files = (files_of or {}).get((k, v.name), fold)
            run_dir = osp.join(work_root, 'runs', f'fold{k}', v.name)
            stages = []
            for i, stage in enumerate(v.stages):
                if stage.config not in cache:
                    cache[stage.config] = split_options(
                        stage.config, dict(train='{train}', val='{val}',
                                           test='{test}'))
                splits = [o.format(**files) for o in cache[stage.config]]
                options = (list(spec.cfg_options) + list(stage.cfg_options)
                           + splits + list((anchor_options or {}).get(
                               (k, v.name), [])))
                stages.append(dict(config=stage.config, cfg_options=options,
                                   work_dir=osp.join(run_dir, f'stage{i}')))
            runs.append(StudyRun(
                fold=k, variant=v.name, run_dir=run_dir, stages=stages,
                data_root=data_root, stats_file=files['stats'],
                checkpoint=spec.checkpoint,
                python=list(python or [sys.executable])))
    return runs


def fit_fold_anchors(spec: StudySpec, data_root: str, files_of: dict,
                     echo: Callable[[str], None] = print) -> dict:
    """Fit the anchors of the variants with ``fit_anchors`` to each fold's
    training boxes (after the training pipeline's resize), with
    :func:`mmdet_inbreast.anchors.boxes_from_config` and
    :func:`mmdet_inbreast.anchors.optimize_anchors`.

    The result is written to ``<fold dir>/anchors_<variant>.json`` and
    reused when it exists.

    Args:
        spec (StudySpec): The study.
        data_root (str): Release folder.
        files_of (dict): :func:`variant_fold_files`.
        echo (callable): Progress output.

    Returns:
        dict: ``(fold, variant)`` -> ``--cfg-options`` setting the anchor
        generator's ``scales`` and ``ratios``.
    """
    options = {}
    wanted = [v for v in spec.variants if v.fit_anchors is not None]
    if not wanted:
        return options
    import mmdet_inbreast  # noqa: F401  (boxes_from_config builds datasets)
    from .. import anchors
    for (k, name), files in sorted(files_of.items()):
        v = spec.variant(name)
        if v.fit_anchors is None:
            continue
        path = osp.join(osp.dirname(files['train']), f'anchors_{v.name}.json')
        fitted = _read_json(path)
        if fitted is None:
            config = v.stages[0].config
            boxes = anchors.boxes_from_config(
                config, list(spec.cfg_options) + list(
                    v.stages[0].cfg_options) + split_options(config, files),
                data_root=data_root)
            kwargs = dict(v.fit_anchors)
            kwargs.setdefault('seed', spec.seed)
            result = anchors.optimize_anchors(
                boxes.boxes, image_sizes=boxes.image_sizes, **kwargs)
            fitted = dict(ratios=list(result.ratios),
                          scales=list(result.scales), boxes=len(boxes.boxes),
                          train_split=files['train'], arguments=kwargs)
            with open(path, 'w') as f:
                json.dump(fitted, f, indent=2)
            echo(f'fold {k}, {v.name}: anchors fitted to '
                 f'{len(boxes.boxes)} training boxes: ratios '
                 f'{fitted["ratios"]}, scales {fitted["scales"]}')
        prefix = 'model.bbox_head.anchor_generator.'
        options[(k, v.name)] = [
            f'{prefix}octave_base_scale=None',
            f'{prefix}scales_per_octave=None',
            f'{prefix}scales={fitted["scales"]}'.replace(' ', ''),
            f'{prefix}ratios={fitted["ratios"]}'.replace(' ', ''),
        ]
    return options


def _study_record(spec: StudySpec, data_root: str, folds: list) -> dict:
    return dict(study=spec.path, name=spec.name, data_root=data_root,
                folds=spec.folds, seed=spec.seed, stratify=spec.stratify,
                val_fraction=spec.val_fraction,
                variants=[v.name for v in spec.variants],
                baseline=spec.baseline,
                fold_sizes=[{n: len(f[n]) for n in ('train', 'val', 'test')}
                            for f in folds])


def prepare_study(spec: StudySpec, data_root: str, work_root: str,
                  resume: bool = False,
                  echo: Callable[[str], None] = print) -> list[dict]:
    """Check the work root, make the folds and write their files.

    Returns:
        list[dict]: :func:`~.folds.write_fold_files` output.

    Raises:
        InputError: The work root has whitespace in its path, holds another
            study, or holds this one without ``resume``.
    """
    from ..datasets import scan_release
    from .folds import check_out_of_fold, make_folds, write_fold_files
    if any(c.isspace() for c in work_root):
        raise InputError(f'{work_root}: the work root of a study must not '
                         'contain spaces (mmengine --cfg-options drops '
                         'them); choose another --work-root')
    if not osp.isdir(data_root):
        raise InputError(f'{data_root}: release folder not found; pass '
                         '--data-root "<.../INbreast Release 1.0>"')
    records, _ = scan_release(data_root)
    folds = make_folds(records, spec.folds, seed=spec.seed,
                       val_fraction=spec.val_fraction)
    check_out_of_fold(folds, [r.file_name for r in records])
    record = _study_record(spec, data_root, folds)
    record_path = osp.join(work_root, 'study.json')
    old = _read_json(record_path)
    if old is not None:
        if not resume:
            raise InputError(f'{record_path}: the work root holds a study '
                             'already; pass --resume to continue it, or '
                             'choose another --work-root')
        changed = [k for k in ('study', 'data_root', 'folds', 'seed',
                               'val_fraction', 'fold_sizes')
                   if old.get(k) != record[k]]
        if changed:
            raise InputError(f'{record_path}: the study there differs in '
                             f'{changed}; choose another --work-root')
    os.makedirs(work_root, exist_ok=True)
    with open(record_path, 'w') as f:
        json.dump(record, f, indent=2)
    for k, sizes in enumerate(record['fold_sizes']):
        echo(f'fold {k}: train {sizes["train"]}, val {sizes["val"]}, '
             f'test {sizes["test"]} images')
    return write_fold_files(data_root, folds, osp.join(work_root, 'folds'),
                            header=f'{spec.name}: seed {spec.seed}')


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
