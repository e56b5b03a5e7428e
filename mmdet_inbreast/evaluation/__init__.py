"""Evaluation: pure numpy FROC maths (``functional``) and ``FROCMetric``."""
from .functional import (DEFAULT_FPI, FROCCurve, FROCMatches, bootstrap_cpm,
                         froc_curve, match_images, sensitivity_at)
from .metrics import FROCMetric

__all__ = [
    'DEFAULT_FPI', 'FROCCurve', 'FROCMatches', 'FROCMetric', 'bootstrap_cpm',
    'froc_curve', 'match_images', 'sensitivity_at'
]
