"""Oracles and data generators for tests and benchmarks, not for evaluation
(mmdet's ``mmdet.testing`` pattern: not imported by ``mmdet_inbreast``)."""
from .froc_reference import (froc_reference, froc_reference_points,
                             random_detections)

__all__ = ['froc_reference', 'froc_reference_points', 'random_detections']
