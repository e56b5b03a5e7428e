"""Pure numpy evaluation maths (no torch; IoU from mmdet's NumPy
``bbox_overlaps``). The plain-Python FROC oracle of the tests lives in
:mod:`mmdet_inbreast.testing`."""
from .froc import (DEFAULT_FPI, FROCCurve, FROCMatches, center_in_boxes,
                   froc_curve, match_images, match_predictions, sensitivity_at)
from .froc_bootstrap import bootstrap_cpm, bootstrap_cpm_from_counts

__all__ = [
    'DEFAULT_FPI', 'FROCCurve', 'FROCMatches', 'bootstrap_cpm',
    'bootstrap_cpm_from_counts', 'center_in_boxes', 'froc_curve',
    'match_images', 'match_predictions', 'sensitivity_at'
]
