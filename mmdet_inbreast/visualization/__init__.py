"""Plots: FROC curves and training histories (matplotlib imported lazily)."""
from .froc_plot import (find_froc_json, froc_table, load_froc_json,
                        plot_froc_curves, run_label)
from .history import (DEFAULT_METRICS, History, find_scalar_files,
                      history_panels, history_table, load_history,
                      plot_histories)

__all__ = [
    'DEFAULT_METRICS', 'History', 'find_froc_json', 'find_scalar_files',
    'froc_table', 'history_panels', 'history_table', 'load_froc_json',
    'load_history', 'plot_froc_curves', 'plot_histories', 'run_label'
]
from .contact_sheet import contact_sheet
from .hits import ImageHits, image_hits, is_failure, rank_images
from .mammogram import (GT_COLOR, PRED_COLOR, downscale, draw_boxes,
                        render_mammogram, save_rgb, window_for_display)

__all__ += [
    'GT_COLOR', 'PRED_COLOR', 'ImageHits', 'contact_sheet', 'downscale',
    'draw_boxes', 'image_hits', 'is_failure', 'rank_images',
    'render_mammogram', 'save_rgb', 'window_for_display'
]
