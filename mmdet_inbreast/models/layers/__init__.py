"""Building blocks of the heads."""
from .torch_nms import torch_nms, torch_nms_cfg, torchvision_nms_kernel

__all__ = ['torch_nms', 'torch_nms_cfg', 'torchvision_nms_kernel']
