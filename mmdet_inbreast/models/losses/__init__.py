"""Losses, registered in mmdet's ``MODELS`` registry on import."""
from .focal_loss import TorchSigmoidFocalLoss

__all__ = ['TorchSigmoidFocalLoss']
