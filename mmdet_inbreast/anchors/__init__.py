"""Anchor optimisation for mmdet's ``AnchorGenerator`` (RetinaNet).

NumPy and SciPy only: nothing here imports torch or mmdet at module level
(:mod:`.from_config` imports mmengine/mmdet inside its functions, :mod:`.plot`
imports matplotlib inside its function; ``mmdet_inbreast.utils.errors`` is
plain Python), so ``tools/optimize_anchors.py`` can load this subpackage
without running ``mmdet_inbreast/__init__.py``.

Anchors for a config are fitted on its training split only
(:func:`boxes_from_config`, :func:`fit_anchors_for_config`).
"""
from .from_config import (boxes_from_config, crop_geometry,
                          fit_anchors_for_config)
from .io import BoxSet, config_snippet, load_boxes_csv, write_json, write_text
from .iou import (anchor_shapes, best_iou, box_sizes, centred_best_iou,
                  grid_best_iou, nearest_grid_boxes, pairwise_iou)
from .objective import OBJECTIVES, AnchorSpace, objective_value
from .optimizer import (DEFAULT_STRIDES, MMDET_RETINANET_ANCHORS,
                        AnchorEvaluation, AnchorResult, default_anchors,
                        evaluate_anchors, optimize_anchors)
from .plot import plot_anchor_shapes
from .report import (build_payload, compare_with_default, format_table,
                     snippet_header, write_outputs)

__all__ = [
    'AnchorEvaluation', 'AnchorResult', 'AnchorSpace', 'BoxSet',
    'DEFAULT_STRIDES', 'MMDET_RETINANET_ANCHORS', 'OBJECTIVES',
    'anchor_shapes', 'best_iou', 'box_sizes', 'boxes_from_config',
    'crop_geometry', 'fit_anchors_for_config',
    'build_payload', 'centred_best_iou', 'compare_with_default',
    'config_snippet', 'default_anchors', 'evaluate_anchors', 'format_table',
    'grid_best_iou', 'load_boxes_csv', 'nearest_grid_boxes', 'objective_value',
    'optimize_anchors', 'pairwise_iou', 'plot_anchor_shapes', 'snippet_header',
    'write_json', 'write_outputs', 'write_text'
]
