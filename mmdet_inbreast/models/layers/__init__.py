"""Building blocks of the heads."""
from .nms import torch_nms, torch_nms_cfg, torchvision_nms_kernel

__all__ = ['torch_nms', 'torch_nms_cfg', 'torchvision_nms_kernel']
