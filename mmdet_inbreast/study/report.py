"""The report of a study: ``results.md``, ``results.csv`` and plots.

- **Across folds**: per variant, the mean of each fold's test metrics (AP,
  AP50, CPM, sens@0.5/1/2 FP per image, from the test run's
  ``metrics.json``) with a 95 % Student-t interval over the K folds
  (:func:`~mmdet_inbreast.evaluation.functional.bootstrap.t_interval`).
- **Pooled out-of-fold**: every image was tested once, by the model of the
  fold that held it out; the predictions of all folds are pooled and
  evaluated once: AP50 with pycocotools, the FROC curve, CPM and sens@f
  with :mod:`mmdet_inbreast.evaluation.functional.froc`. Intervals come
  from a patient bootstrap (``bootstrap`` samples, percentile).
- **Paired comparison**: each variant against the baseline, on the same
  bootstrap samples of patients: the difference in CPM and AP50, its
  percentile 95 % interval and a two-sided bootstrap p-value
  (:func:`~mmdet_inbreast.evaluation.functional.bootstrap.paired_bootstrap`).
- ``froc.png``: pooled FROC curves with pointwise 95 % patient-bootstrap
  bands; ``history.png``: training loss and val AP50 per epoch of every run,
  overlaid.

Pooling compares predictions of models trained on different folds on one
score scale; that is the usual out-of-fold evaluation, and the per-fold
table shows whether the folds agree.
"""
from __future__ import annotations

import csv
import json
import os.path as osp
from typing import Callable, Optional, Sequence

import numpy as np

from ..evaluation.functional.bootstrap import (draw_patient_counts,
                                               paired_bootstrap,
                                               percentile_band, t_interval)
from .pooling import POOLED_FPI, PooledVariant, pool_variant
from .spec import StudySpec

#: Table columns -> keys of the test metrics JSON.
FOLD_METRICS = {
    'AP': 'coco/bbox_mAP',
    'AP50': 'coco/bbox_mAP_50',
    'CPM': 'froc/CPM',
    'sens@0.5': 'froc/sens@0.5',
    'sens@1': 'froc/sens@1',
    'sens@2': 'froc/sens@2',
}
#: FP/image grid of the FROC bands.
BAND_FPI = tuple(np.round(np.geomspace(0.125, 8, 13), 4))


def _fmt(v: Optional[float], digits: int = 3) -> str:
    return '-' if v is None or np.isnan(v) else f'{v:.{digits}f}'


def _fmt_ci(mean, low, high) -> str:
    if mean is None or np.isnan(mean):
        return '-'
    if low is None or np.isnan(low):
        return _fmt(mean)
    return f'{_fmt(mean)} [{_fmt(low)}, {_fmt(high)}]'


def _fmt_p(p: float) -> str:
    if np.isnan(p):
        return '-'
    return f'{p:.3f}' if p >= 0.001 else '<0.001'


def _histories(runs: Sequence, echo: Callable[[str], None]) -> dict:
    from ..visualization.history import load_history
    histories = {}
    for run in runs:
        for i, stage in enumerate(run.stages):
            label = run.name + (f' stage{i}' if len(run.stages) > 1 else '')
            try:
                histories[label] = load_history(stage['work_dir'])
            except (FileNotFoundError, ValueError) as e:
                echo(f'history of {label} left out: {e}')
    return histories


def write_report(spec: StudySpec, work_root: str, runs: Sequence,
                 statuses: dict,
                 echo: Callable[[str], None] = print) -> dict:
    """Write ``results.md``, ``results.csv``, ``froc.png`` and
    ``history.png`` into ``work_root``.

    Args:
        spec (StudySpec): The study.
        work_root (str): Its work root (``study.json``, ``folds/``).
        runs (Sequence[StudyRun]): All runs.
        statuses (dict): Run name -> result of the launcher.
        echo (callable): Progress output.

    Returns:
        dict: Paths of what was written.
    """
    from ..datasets import read_split_file
    study = json.load(open(osp.join(work_root, 'study.json')))
    keys = sorted(k for f in range(spec.folds) for k in read_split_file(
        osp.join(work_root, 'folds', f'fold{f}', 'test.txt')))
    names = [v.name for v in spec.variants]
    by_variant = {n: sorted((r for r in runs if r.variant == n),
                            key=lambda r: r.fold) for n in names}
    failed = {r.name: statuses.get(r.name, {}) for r in runs
              if statuses.get(r.name, {}).get('status') != 'done'}
    csv_rows = []

    # Across folds.
    fold_table = {}
    for n in names:
        per_metric = {}
        for col, key in FOLD_METRICS.items():
            values = []
            for r in by_variant[n]:
                m = None
                if r.name not in failed and osp.isfile(r.metrics_file):
                    m = json.load(open(r.metrics_file)).get(key)
                values.append(np.nan if m is None else float(m))
            s = t_interval(values, spec.level)
            per_metric[col] = s
            csv_rows.append(dict(
                section='folds', variant=n, metric=col, value=s.mean,
                ci_low=s.low, ci_high=s.high, p='', n=s.n,
                per_fold=';'.join(_fmt(v, 4) for v in values)))
        fold_table[n] = per_metric

    # Pooled out of fold.
    pooled: dict[str, PooledVariant] = {}
    for n in names:
        if any(r.name in failed for r in by_variant[n]):
            echo(f'{n}: not pooled (a fold failed)')
            continue
        pooled[n] = pool_variant(by_variant[n], keys)
    pooled_table, samples, counts, bands = {}, {}, None, {}
    if pooled:
        first = next(iter(pooled.values()))
        for n, p in pooled.items():
            if list(p.patients) != list(first.patients) or \
                    [i['key'] for i in p.images] != \
                    [i['key'] for i in first.images]:
                raise ValueError(f'{n}: pooled images differ from '
                                 f'{next(iter(pooled))}')
        counts = draw_patient_counts(len(first.patients), spec.bootstrap,
                                     spec.seed)
        ones = np.ones((1, len(first.patients)), dtype=np.int64)
        for n, p in pooled.items():
            obs = p.observed()
            samples[n] = dict(AP50=p.ap50(counts), CPM=p.cpm(counts))
            for f in POOLED_FPI:
                samples[n][f'sens@{f:g}'] = p.sens(counts, f)
            row = {}
            alpha = (1 - spec.level) / 2 * 100
            for metric, value in obs.items():
                s = samples[n][metric]
                s = s[~np.isnan(s)]
                low, high = (np.percentile(s, [alpha, 100 - alpha])
                             if len(s) else (np.nan, np.nan))
                row[metric] = (value, float(low), float(high))
                csv_rows.append(dict(
                    section='pooled', variant=n, metric=metric, value=value,
                    ci_low=low, ci_high=high, p='', n=len(s), per_fold=''))
            pooled_table[n] = row
            curve = np.stack([p.sens(ones, f)[0] for f in BAND_FPI])
            sampled = np.stack([p.sens(counts, f) for f in BAND_FPI], 1)
            bands[n] = (np.asarray(BAND_FPI), curve,
                        *percentile_band(sampled, spec.level))

    # Paired against the baseline.
    paired = {}
    base = spec.baseline
    if base in pooled:
        for n in pooled:
            if n == base:
                continue
            for metric in ('CPM', 'AP50'):
                r = paired_bootstrap(
                    pooled_table[n][metric][0], pooled_table[base][metric][0],
                    samples[n][metric], samples[base][metric], spec.level)
                paired[(n, metric)] = r
                csv_rows.append(dict(
                    section=f'paired vs {base}', variant=n, metric=metric,
                    value=r.diff, ci_low=r.low, ci_high=r.high, p=r.p,
                    n=r.num_samples, per_fold=''))

    paths = {}
    csv_path = osp.join(work_root, 'results.csv')
    with open(csv_path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=[
            'section', 'variant', 'metric', 'value', 'ci_low', 'ci_high',
            'p', 'n', 'per_fold'])
        writer.writeheader()
        for row in csv_rows:
            writer.writerow({k: ('' if isinstance(v, float) and np.isnan(v)
                                 else v) for k, v in row.items()})
    paths['csv'] = csv_path

    if bands:
        from ..visualization.study_plots import plot_froc_bands
        paths['froc'] = plot_froc_bands(
            bands, osp.join(work_root, 'froc.png'),
            title=f'{spec.name}: pooled out-of-fold FROC '
            f'({int(spec.level * 100)} % patient-bootstrap bands)')
    histories = _histories([r for r in runs if r.name not in failed], echo)
    if histories:
        from ..visualization.history import plot_histories
        paths['history'] = plot_histories(
            histories, osp.join(work_root, 'history'),
            metrics=('coco/bbox_mAP_50', ), losses=('loss', ),
            title=f'{spec.name}: training loss and val AP50')[0]

    md = _markdown(spec, study, names, fold_table, pooled_table, paired,
                   pooled, failed, runs, statuses, paths, len(keys))
    md_path = osp.join(work_root, 'results.md')
    with open(md_path, 'w') as f:
        f.write(md)
    paths['md'] = md_path
    echo(md)
    return paths


def _markdown(spec, study, names, fold_table, pooled_table, paired, pooled,
              failed, runs, statuses, paths, num_images) -> str:
    level = int(round(spec.level * 100))
    lines = [f'# Study `{spec.name}`', '']
    sizes = study['fold_sizes']
    lines.append(
        f'{spec.folds} folds by patient (stratified by masses, seed '
        f'{spec.seed}); every one of the {num_images} images is tested once, '
        f'by the model of the fold that held it out. Train/val/test images '
        'per fold: ' + ', '.join(
            f'{s["train"]}/{s["val"]}/{s["test"]}' for s in sizes)
        + ('. The kept checkpoint is the best on each fold\'s val split '
           '(carved by patient from its training part)'
           if spec.checkpoint == 'best' else
           '. The kept checkpoint is each run\'s last (val, carved by '
           'patient from the training part, is only monitored)')
        + f'. Baseline: `{spec.baseline}`.')
    lines += ['', f'## Across folds: mean [{level} % t-interval over '
              f'{spec.folds} folds]', '']
    cols = list(FOLD_METRICS)
    lines.append('| variant | ' + ' | '.join(cols) + ' |')
    lines.append('|---|' + '---:|' * len(cols))
    for n in names:
        label = n + (' (baseline)' if n == spec.baseline else '')
        lines.append(f'| {label} | ' + ' | '.join(
            _fmt_ci(*fold_table[n][c][:3]) for c in cols) + ' |')
    if pooled_table:
        metrics = list(next(iter(pooled_table.values())))
        lines += ['', f'## Pooled out-of-fold: value [{level} % patient '
                  f'bootstrap, {spec.bootstrap} samples]', '']
        lines.append('| variant | ' + ' | '.join(metrics) + ' |')
        lines.append('|---|' + '---:|' * len(metrics))
        for n, row in pooled_table.items():
            lines.append(f'| {n} | ' + ' | '.join(
                _fmt_ci(*row[m]) for m in metrics) + ' |')
        first = next(iter(pooled.values()))
        lines += ['', f'{len(first.images)} images, '
                  f'{len(first.patients)} patients, '
                  f'{int(first.froc.num_gts.sum())} masses.']
    if paired:
        lines += ['', f'## Paired patient bootstrap against `{spec.baseline}`'
                  ' (pooled out-of-fold; difference = variant - baseline)',
                  '', f'| variant | metric | difference | {level} % CI | '
                  'p (two-sided) |', '|---|---|---:|---:|---:|']
        for (n, metric), r in paired.items():
            lines.append(f'| {n} | {metric} | {r.diff:+.3f} | '
                         f'[{_fmt(r.low)}, {_fmt(r.high)}] | '
                         f'{_fmt_p(r.p)} |')
    lines += ['', '## Runs', '', '| run | status | attempts | wall (s) | '
              'log |', '|---|---|---:|---:|---|']
    for r in runs:
        s = statuses.get(r.name, {})
        lines.append(f'| {r.name} | {s.get("status", "not run")} | '
                     f'{s.get("attempts", "-")} | '
                     f'{s.get("wall_s", 0):.0f} | {r.log} |')
    if failed:
        lines += ['', f'{len(failed)} run(s) failed: '
                  + ', '.join(failed) + '. Variants with a failed fold are '
                  'left out of the pooled and paired tables.']
    figures = [osp.basename(p) for k, p in paths.items()
               if k in ('froc', 'history')]
    if figures:
        lines += ['', 'Figures: ' + ', '.join(figures) + '.']
    lines += ['', 'Intervals: across folds, mean +- t(0.975, K-1) s / '
              'sqrt(K) (the folds share training patients, so this is '
              'somewhat narrow); pooled and paired, percentiles of the '
              'patient bootstrap (all images of a drawn patient, as often '
              'as drawn). p = min(1, 2 min(1 + #{d <= 0}, 1 + #{d >= 0}) / '
              '(B + 1)).', '']
    return '\n'.join(lines)
