"""Metrics registered with mmdet's ``METRICS`` registry."""
from .coco_metric import INbreastCocoMetric
from .froc_metric import FROCMetric

__all__ = ['FROCMetric', 'INbreastCocoMetric']
