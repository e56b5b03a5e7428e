"""Backbone builders, registered in mmdet's ``MODELS`` registry on import."""
from .frozen_backbone import build_frozen_backbone, freeze_module, is_frozen

__all__ = ['build_frozen_backbone', 'freeze_module', 'is_frozen']
