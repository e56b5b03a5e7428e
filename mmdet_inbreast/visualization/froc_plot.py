"""FROC curves of one or more runs, from ``FROCMetric``'s JSON files.

``FROCMetric(outfile_prefix=...)`` writes ``<outfile_prefix>.froc.json``
with the corners of the curve (``fps_per_image``, ``sensitivity``,
``thresholds``), ``fpi`` and ``metrics`` (``sens@<f>``, ``CPM`` and, with a
bootstrap, ``CPM_ci_low``/``CPM_ci_high``). matplotlib is imported inside the
functions (backend Agg) so that importing the package stays light.
"""
import glob
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..utils.errors import InputError

FROC_SUFFIX = '.froc.json'
_REQUIRED_KEYS = ('fps_per_image', 'sensitivity', 'fpi', 'metrics')


def find_froc_json(run: str) -> str:
    """The FROC file of a run.

    Args:
        run (str): A ``*.froc.json`` file, or a directory (a work dir) in
            which the newest ``*.froc.json`` (by modification time, searched
            recursively) is taken.

    Returns:
        str: Path of the JSON file.
    """
    if osp.isfile(run):
        return run
    if not osp.isdir(run):
        raise InputError(f'{run}: no such file or directory')
    found = glob.glob(osp.join(run, '**', f'*{FROC_SUFFIX}'), recursive=True)
    if not found:
        raise InputError(
            f'{run}: no *{FROC_SUFFIX} file in it; run the test with '
            f"FROCMetric(outfile_prefix='{run}/test')")
    return max(found, key=osp.getmtime)


def run_label(run: str) -> str:
    """Default legend label: the directory's name for a directory, the
    parent folder's name for a file."""
    run = osp.normpath(osp.abspath(run))
    return osp.basename(run if osp.isdir(run) else osp.dirname(run))


def load_froc_json(path: str) -> Dict:
    """Read and check a ``*.froc.json`` file.

    Args:
        path (str): The file.

    Returns:
        dict: Its content with ``fps_per_image`` and ``sensitivity`` as
        float64 arrays (``null`` read as NaN).
    """
    with open(path) as f:
        try:
            content = json.load(f)
        except json.JSONDecodeError as e:
            raise InputError(f'{path}: not JSON ({e}); write it again with '
                             "FROCMetric(outfile_prefix=...)") from None
    missing = [k for k in _REQUIRED_KEYS if k not in content]
    if missing:
        raise InputError(f'{path}: keys {missing} missing; is this a '
                         f'FROCMetric {FROC_SUFFIX} file?')
    for key in ('fps_per_image', 'sensitivity'):
        content[key] = np.asarray(content[key], dtype=np.float64)
    if content['fps_per_image'].shape != content['sensitivity'].shape:
        raise InputError(
            f"{path}: {len(content['fps_per_image'])} FP/image values but "
            f"{len(content['sensitivity'])} sensitivities")
    return content


def _fpi_label(f: float) -> str:
    """0.125 -> '1/8', 2 -> '2'."""
    if f < 1 and abs(1 / f - round(1 / f)) < 1e-9:
        return f'1/{round(1 / f)}'
    return f'{f:g}'


def _legend(label: str, metrics: Dict) -> str:
    """``label (CPM 0.612 [0.551, 0.670])``."""
    cpm = metrics.get('CPM')
    if cpm is None:
        return f'{label} (no boxes)'
    text = f'{label} (CPM {cpm:.3f}'
    if metrics.get('CPM_ci_low') is not None and metrics.get(
            'CPM_ci_high') is not None:
        text += f" [{metrics['CPM_ci_low']:.3f}, {metrics['CPM_ci_high']:.3f}]"
    return text + ')'


def plot_froc_curves(runs: Sequence[Dict],
                     labels: Sequence[str],
                     out_file: str,
                     title: Optional[str] = None,
                     dpi: int = 150) -> str:
    """Draw FROC curves on a log FP/image axis and save the figure.

    Each curve is the step function "best sensitivity at FP/image <= x"
    through the run's points; markers show the ``sens@f`` points and the
    legend the CPM (with its interval when the run has one).

    Args:
        runs (Sequence[dict]): Contents of :func:`load_froc_json`.
        labels (Sequence[str]): One legend label per run.
        out_file (str): Image file; the suffix picks the format (``.png``,
            ``.svg``, ``.pdf``).
        title (str, optional): Figure title. Defaults to None.
        dpi (int): Resolution of raster formats. Defaults to 150.

    Returns:
        str: ``out_file``.
    """
    if len(runs) != len(labels):
        raise ValueError(f'{len(runs)} runs but {len(labels)} labels')
    if not runs:
        raise ValueError('no run to plot')
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fpi_all = sorted({float(f) for run in runs for f in run['fpi']})
    x_min, x_max = fpi_all[0] / 1.5, fpi_all[-1] * 1.5
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    for run, label in zip(runs, labels):
        inside = run['fps_per_image'] <= x_max
        fps, sens = run['fps_per_image'][inside], run['sensitivity'][inside]
        # Best sensitivity at FP/image <= x is a right-continuous step; points
        # left of the axis are drawn at its left edge.
        xs = np.concatenate([[x_min], np.clip(fps, x_min, None), [x_max]])
        ys = np.concatenate([[0.0], sens, sens[-1:] if len(sens) else [0.0]])
        (line, ) = ax.step(
            xs, ys, where='post', label=_legend(label, run['metrics']))
        fpi = [float(f) for f in run['fpi']]
        points = [run['metrics'].get(f'sens@{f:g}') for f in fpi]
        ax.plot(fpi, [np.nan if p is None else p for p in points], 'o',
                color=line.get_color())
    ax.set_xscale('log', base=2)
    ax.set_xlim(x_min, x_max)
    ax.set_xticks(fpi_all)
    ax.set_xticklabels([_fpi_label(f) for f in fpi_all])
    ax.minorticks_off()
    ax.set_ylim(0, 1.02)
    ax.set_xlabel('False positives per image')
    ax.set_ylabel('Sensitivity')
    ax.grid(True, alpha=0.3)
    ax.legend(loc='lower right', fontsize='small')
    if title:
        ax.set_title(title)
    return save_figure(fig, out_file, dpi)


def save_figure(fig, out_file: str, dpi: int = 150) -> str:
    """Lay out ``fig``, write it to ``out_file`` (its folder made) and
    close it.

    Args:
        fig (matplotlib.figure.Figure): The figure.
        out_file (str): Image path (.png, .svg, .pdf).
        dpi (int): Resolution of raster images. Defaults to 150.

    Returns:
        str: ``out_file``.
    """
    import matplotlib.pyplot as plt
    fig.tight_layout()
    if osp.dirname(out_file):
        os.makedirs(osp.dirname(out_file), exist_ok=True)
    fig.savefig(out_file, dpi=dpi)
    plt.close(fig)
    return out_file


def froc_table(runs: Sequence[Dict], labels: Sequence[str]) -> List[str]:
    """Lines of a text table: one row per run, sens@f columns and CPM."""
    fpi = sorted({float(f) for run in runs for f in run['fpi']})
    head = ['run'] + [f'sens@{f:g}' for f in fpi] + ['CPM']
    rows = [head]
    for run, label in zip(runs, labels):
        values = [run['metrics'].get(k) for k in head[1:]]
        rows.append([label] + ['-' if v is None else f'{v:.3f}'
                               for v in values])
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return ['  '.join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
