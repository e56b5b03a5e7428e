"""Plot box shapes against the anchor shapes of two anchor sets.

matplotlib is imported inside :func:`plot_anchor_shapes` (Agg canvas, no
pyplot) so that importing :mod:`mmdet_inbreast.anchors` stays cheap.
"""
from typing import Sequence

import numpy as np

from .iou import anchor_shapes, box_sizes


def plot_anchor_shapes(path: str,
                       boxes: np.ndarray,
                       panels: Sequence[dict],
                       strides: Sequence[int],
                       pos_iou_thr: float = 0.5,
                       title: str = '') -> None:
    """Write a PNG with one log-log panel per anchor set.

    Each panel shows box width against height (dots coloured by the box's
    best IoU with that set; boxes below ``pos_iou_thr`` ringed in red) and
    every anchor shape of every level (crosses), with dotted lines at the
    set's ratios ``h = r * w``.

    Args:
        path (str): Output ``.png``.
        boxes (np.ndarray): ``(N, 4)`` x1, y1, x2, y2 pixels.
        panels (Sequence[dict]): Per panel ``name`` (str), ``ratios``,
            ``scales`` (sequences) and ``best_iou`` (``(N,)`` array), and
            ``mean_best_iou`` (float).
        strides (Sequence[int]): FPN strides.
        pos_iou_thr (float): Positive threshold. Defaults to 0.5.
        title (str): Figure title. Defaults to ''.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    wh = box_sizes(boxes)
    fig = Figure(figsize=(4.6 * len(panels) + 0.8, 5.0), dpi=110)
    FigureCanvasAgg(fig)
    # fixed margins: tight_layout alone would cost about 0.3 s of a 1.5 s run
    fig.subplots_adjust(
        left=0.08, right=0.88, bottom=0.1, top=0.86, wspace=0.25)
    all_shapes = np.concatenate([
        anchor_shapes(p['ratios'], p['scales'], strides).reshape(-1, 2)
        for p in panels
    ] + [wh])
    lo, hi = all_shapes.min() / 1.3, all_shapes.max() * 1.3
    for k, panel in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        shapes = anchor_shapes(panel['ratios'], panel['scales'], strides)
        for level, stride in enumerate(strides):
            ax.scatter(
                shapes[level, :, 0],
                shapes[level, :, 1],
                marker='x',
                s=28,
                color=f'C{level % 10}',
                label=f'anchors, stride {stride}')
        for r in panel['ratios']:
            ax.plot([lo, hi], [lo * r, hi * r], ':', color='0.6', lw=0.8)
        iou = np.asarray(panel['best_iou'])
        sc = ax.scatter(
            wh[:, 0],
            wh[:, 1],
            c=iou,
            cmap='viridis',
            vmin=0.3,
            vmax=1.0,
            s=16,
            edgecolors='none',
            label='boxes')
        low = iou < pos_iou_thr
        if low.any():
            ax.scatter(
                wh[low, 0],
                wh[low, 1],
                s=60,
                facecolors='none',
                edgecolors='red',
                label=f'best IoU < {pos_iou_thr}')
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_aspect('equal')
        ax.set_xlabel('width (px)')
        ax.set_ylabel('height (px)')
        ax.set_title(
            f"{panel['name']}: mean best IoU "
            f"{panel['mean_best_iou']:.3f}",
            fontsize=10)
        ax.grid(True, which='major', lw=0.3)
        if k == 0:
            ax.legend(fontsize=7, loc='upper left')
    fig.colorbar(
        sc, cax=fig.add_axes([0.9, 0.15, 0.015, 0.65]), label='best IoU')
    if title:
        fig.suptitle(title, fontsize=10)
    fig.savefig(path)
