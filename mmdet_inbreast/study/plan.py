"""Plan a study: its folds and their split files, one :class:`StudyRun` per
(fold, variant), the per-fold anchors of the variants that fit them.

Layout of the work root ``W``::

    W/study.json                      the study, its folds' sizes
    W/folds/fold<k>/{train,val,test}.txt, train.stats.json
    W/folds/fold<k>/train_<variant>.txt   (variants with train_fraction < 1)
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

Every stage of a run gets ``--cfg-options`` that point its train, val and
test datasets at the fold's split files (:func:`split_options`); running
the runs is :mod:`mmdet_inbreast.study.runner`'s job.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import sys
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from ..apis.work_dir import read_json
from ..utils.errors import InputError
from .spec import StudySpec


class _RunPath:
    """A path attribute of a :class:`StudyRun`, computed on access:
    ``parts`` joined to its ``run_dir``."""

    def __init__(self, *parts: str):
        self.parts = parts

    def __get__(self, run, owner=None):
        return self if run is None else osp.join(run.run_dir, *self.parts)


@dataclass
class StudyRun:
    """One (fold, variant) run; plain data, so that it travels to a Ray
    worker.

    Attributes:
        fold (int): Fold index.
        variant (str): Variant name.
        run_dir (str): ``W/runs/fold<k>/<variant>``.
        stages (list[dict]): Per stage ``config``, ``cfg_options`` (every
            option but ``load_from``; the first one sets
            ``randomness.seed`` to the study's seed) and ``work_dir``.
        data_root (str): Release folder.
        stats_file (str): Statistics of the fold's train split.
        checkpoint (str): ``'best'`` or ``'last'``.
        python (list[str]): Interpreter that runs the modules.
        test_dir (str): ``<run_dir>/test``, the test's work dir.
        predictions (str): ``<test_dir>/predictions.pkl``.
        metrics_file (str): ``<test_dir>/metrics.json``.
        log (str): ``<run_dir>/run.log``.
    """
    fold: int
    variant: str
    run_dir: str
    stages: list
    data_root: str
    stats_file: str
    checkpoint: str = 'best'
    python: list = field(default_factory=lambda: [sys.executable])

    test_dir = _RunPath('test')
    predictions = _RunPath('test', 'predictions.pkl')
    metrics_file = _RunPath('test', 'metrics.json')
    log = _RunPath('run.log')

    @property
    def name(self) -> str:
        """``fold<k>/<variant>``."""
        return f'fold{self.fold}/{self.variant}'


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
                options = ([f'randomness.seed={spec.seed}']
                           + list(spec.cfg_options) + list(stage.cfg_options)
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
        fitted = read_json(path)
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
    old = read_json(record_path)
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
