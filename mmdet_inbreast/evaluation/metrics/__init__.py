"""Metrics registered with mmdet's ``METRICS`` registry."""
from .froc_metric import FROCMetric

__all__ = ['FROCMetric']
