"""Plots of a study: pooled FROC curves with bootstrap bands."""
from __future__ import annotations

from typing import Optional

import numpy as np

from .froc_plot import save_figure


def plot_froc_bands(curves: dict, out_file: str,
                    title: Optional[str] = None, dpi: int = 150) -> str:
    """FROC curves on a log FP/image axis, each with a shaded band.

    Args:
        curves (dict): Label -> ``(fpi, sens, low, high)``, four ``(M,)``
            arrays: FP/image grid, sensitivity of the pooled set, lower and
            upper band.
        out_file (str): Image path; the suffix picks the format.
        title (str, optional): Figure title.
        dpi (int): Resolution of raster formats. Defaults to 150.

    Returns:
        str: ``out_file``.
    """
    if not curves:
        raise ValueError('no curve to plot')
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    for label, (fpi, sens, low, high) in curves.items():
        fpi = np.asarray(fpi, dtype=np.float64)
        line, = ax.step(fpi, sens, where='post', label=label)
        ax.fill_between(fpi, low, high, step='post', alpha=0.2,
                        color=line.get_color(), linewidth=0)
    ax.set_xscale('log')
    ticks = [0.125, 0.25, 0.5, 1, 2, 4, 8]
    ax.set_xticks(ticks)
    ax.set_xticklabels([f'{t:g}' for t in ticks])
    ax.set_xlabel('false positives per image')
    ax.set_ylabel('sensitivity (masses found)')
    ax.set_ylim(0, 1.02)
    ax.grid(True, alpha=0.3, which='both')
    ax.legend(loc='lower right')
    if title:
        ax.set_title(title, fontsize='medium')
    return save_figure(fig, out_file, dpi)
