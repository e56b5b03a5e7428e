"""Heads, registered in mmdet's ``MODELS`` registry on import."""
from .torch_nms_retina_head import TorchNMSRetinaHead

__all__ = ['TorchNMSRetinaHead']
