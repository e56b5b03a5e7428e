"""Pure numpy evaluation maths (no torch, no mmengine)."""
from .froc import (DEFAULT_FPI, FROCCurve, FROCMatches, bbox_iou,
                   bootstrap_cpm, bootstrap_cpm_from_counts, center_in_boxes,
                   froc_curve, match_images, match_predictions, sensitivity_at)
from .froc_reference import froc_reference, random_detections

__all__ = [
    'DEFAULT_FPI', 'FROCCurve', 'FROCMatches', 'bbox_iou', 'bootstrap_cpm',
    'bootstrap_cpm_from_counts', 'center_in_boxes', 'froc_curve',
    'froc_reference', 'match_images', 'match_predictions',
    'random_detections', 'sensitivity_at'
]
