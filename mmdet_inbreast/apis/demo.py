"""The demo: the seed study's two-phase training on a synthetic release,
end to end, in minutes on a CPU.

Steps (each prints progress; finished steps are skipped when re-run):

1. write a synthetic release in the real layout (1/8 scale);
2. split it by patient (60/20/20, stratified by masses);
3. compute the zero-ignoring statistics of the training split;
4. train phase 1 on patches, phase 2 on full images from phase 1 with the
   backbone frozen, and the resized baseline, each tested on the test split
   (checkpoint chosen on the val split) with CocoMetric and FROCMetric;
5. write ``results.md`` (AP, AP50, CPM, sens@1, training time per run),
   pictures of test images (ground truth red, predictions blue), the FROC
   curves and the training histories.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Callable

from ..datasets.release import read_split_file, scan_release
from ..datasets.splits import describe_split, split_by_ratios, write_split
from ..datasets.stats import compute_split_stats
from ..datasets.synthetic import make_synthetic_release
from .sweep import collect_row, plan_sweep, run_sweep, write_summary

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIGS = {
    'two-phase: patches (phase 1)': 'configs/demo/retina_demo_patch.py',
    'two-phase: full images, frozen backbone (phase 2)':
    'configs/demo/retina_demo_full.py',
    'resized baseline': 'configs/demo/retina_demo_resized.py',
}


def write_splits_and_stats(release: str,
                           ratios: tuple = (0.6, 0.2, 0.2),
                           seed: int = 0) -> list[list[str]]:
    """Write ``splits/{train,val,test}.txt`` (by patient, stratified by
    masses) and ``splits/train.stats.json`` (zero-ignoring statistics of the
    training split) into a release, unless they exist.

    Args:
        release (str): The release folder.
        ratios (tuple): train, val, test ratios. Defaults to (0.6, 0.2, 0.2).
        seed (int): Split seed. Defaults to 0.

    Returns:
        list[list[str]]: The image keys of train, val and test.
    """
    records, _ = scan_release(release)
    split_dir = osp.join(release, 'splits')
    names = ('train', 'val', 'test')
    if osp.isfile(osp.join(split_dir, 'test.txt')):
        parts = [read_split_file(osp.join(split_dir, f'{n}.txt'))
                 for n in names]
    else:
        parts = split_by_ratios(records, ratios, seed=seed)
        for name, keys in zip(names, parts):
            write_split(osp.join(split_dir, f'{name}.txt'), keys,
                        f'ratios {" ".join(map(str, ratios))}, seed {seed}')
    if not osp.isfile(osp.join(split_dir, 'train.stats.json')):
        compute_split_stats(release, 'splits/train.txt')
    return parts


def prepare_release(out_dir: str, num_patients: int, scale: float,
                    seed: int, echo: Callable[[str], None]) -> str:
    """Steps 1-3; returns the release folder."""
    release = osp.join(out_dir, 'data', 'INbreast Release 1.0')
    if not osp.isfile(osp.join(release, 'INbreast.csv')):
        echo(f'writing a synthetic release ({num_patients} patients, '
             f'scale {scale:g}) to {release}')
        make_synthetic_release(osp.join(out_dir, 'data'),
                               num_patients=num_patients, scale=scale,
                               seed=seed, mass_fraction=0.4)
    parts = write_splits_and_stats(release, seed=seed)
    records, _ = scan_release(release)
    for name, keys in zip(('train', 'val', 'test'), parts):
        d = describe_split(records, keys)
        echo(f'  {name:<5} {d["images"]:>3} images, {d["patients"]:>2} '
             f'patients, {d["masses"]:>2} masses')
    stats = json.load(open(osp.join(release, 'splits', 'train.stats.json')))
    echo(f'  zero-ignoring statistics of train: mean {stats["mean"]:.2f}, '
         f'std {stats["std"]:.2f} over {stats["num_pixels"]:,} pixels')
    return release


def _tool(name: str, *args: str, log: str) -> None:
    """Run ``tools/<name>`` with this interpreter; output to ``log``."""
    with open(log, 'a') as f:
        rc = subprocess.call([sys.executable, osp.join(REPO, 'tools', name),
                              *args], stdout=f, stderr=subprocess.STDOUT,
                             cwd=REPO)
    if rc != 0:
        raise RuntimeError(f'tools/{name} failed (exit {rc}); see {log}')


def run_demo(out_dir: str = 'demo_output',
             num_patients: int = 30,
             scale: float = 0.125,
             seed: int = 0,
             echo: Callable[[str], None] = print) -> list[dict]:
    """Run the whole demo (see the module docstring).

    Args:
        out_dir (str): Everything goes here (data, work dirs, results).
        num_patients (int): Patients of the synthetic release.
        scale (float): Image scale of the synthetic release.
        seed (int): Seed of the release and the split.
        echo (callable): Progress output.

    Returns:
        list[dict]: One summary row per run (see
        :func:`~mmdet_inbreast.apis.sweep.collect_row`).
    """
    start = time.time()
    out_dir = osp.abspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)

    def say(msg: str) -> None:
        echo(f'[demo {time.strftime("%H:%M:%S")} +{time.time() - start:5.0f}s]'
             f' {msg}')

    release = prepare_release(out_dir, num_patients, scale, seed, say)
    work_root = osp.join(out_dir, 'work_dirs')
    configs = [osp.join(REPO, c) for c in DEMO_CONFIGS.values()]
    runs = plan_sweep(configs, work_root)
    patch, full, _ = runs
    for (label, _), run in zip(DEMO_CONFIGS.items(), runs):
        say(f'{label}: {osp.relpath(run.config, REPO)}')
        options = [f'test_evaluator.1.outfile_prefix={run.test_dir}/froc',
                   f'randomness.seed={seed}']
        if run is full:
            options.append(f'load_from={patch.work_dir}')
        run_sweep([run.config], work_root, data_root=release,
                  cfg_options=options, checkpoint='best', echo=lambda m: None
                  if m.startswith(('|', 'summary:')) else say('  ' + m))
    rows = [collect_row(r) for r in runs]
    md, _ = write_summary(rows, work_root)

    say('pictures, FROC curves and training histories')
    log = osp.join(out_dir, 'plots.log')
    best = json.load(open(osp.join(full.work_dir, '.done')))['checkpoint']
    _tool('visualize.py', full.config, best, '--split', 'test', '--out',
          osp.join(out_dir, 'pictures'), '--data-root', release,
          '--score-thr', '0.3', log=log)
    labels = ['phase1-patches', 'phase2-full', 'resized']
    froc_files = [osp.join(r.test_dir, 'froc.froc.json') for r in runs]
    _tool('plot_froc.py', *froc_files, '--out',
          osp.join(out_dir, 'froc.png'), '--labels', *labels, log=log)
    _tool('plot_history.py', *[r.work_dir for r in runs], '--out',
          osp.join(out_dir, 'history'), '--labels', *labels, log=log)

    table = write_results(rows, labels, osp.join(out_dir, 'results.md'),
                          time.time() - start)
    echo(table)
    say(f'done: {out_dir}/results.md, pictures/, froc.png, history.png')
    return rows


def write_results(rows: list[dict], labels: list[str], path: str,
                  elapsed: float) -> str:
    """The demo's results table (Markdown) to ``path``; returns it."""
    lines = ['| run | AP | AP50 | CPM | sens@1 | train time (s) |',
             '|---|---:|---:|---:|---:|---:|']
    for label, r in zip(labels, rows):
        cells = [label] + [
            '-' if r[k] is None else f'{r[k]:.3f}'
            for k in ('AP', 'AP50', 'CPM', 'sens@1')
        ] + ['-' if r['train_time_s'] is None else f"{r['train_time_s']:.0f}"]
        lines.append('| ' + ' | '.join(cells) + ' |')
    lines.append('')
    lines.append(f'Synthetic test split; whole demo {elapsed / 60:.1f} min '
                 f'on {os.cpu_count()} CPU cores.')
    text = '\n'.join(lines)
    with open(path, 'w') as f:
        f.write(text + '\n')
    return text
