"""Losses, registered in mmdet's ``MODELS`` registry on import."""
from .focal_loss import SigmoidFocalLoss

__all__ = ['SigmoidFocalLoss']
