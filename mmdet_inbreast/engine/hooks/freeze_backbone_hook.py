"""FreezeBackboneHook: keep the backbone's weights and BN statistics fixed."""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmdet.registry import HOOKS

from mmdet_inbreast.models.backbones.frozen_backbone import (freeze_module,
                                                            is_frozen)
from mmdet_inbreast.utils.errors import InputError

__all__ = ['FreezeBackboneHook', 'freeze_module']


@HOOKS.register_module()
class FreezeBackboneHook(Hook):
    """Freeze the backbone for fine-tuning (phase 2 of the seed's training).

    Weights **and** BatchNorm running statistics stay bit-identical: see
    :func:`freeze_module`. Acts in ``before_train`` (the optimizer is built
    by then; frozen parameters get no gradient, so SGD/Adam and weight
    decay skip them) and logs trainable / total parameter counts.

    Under distributed training the model was wrapped in DDP before this
    hook runs, and DDP decided then which parameters it reduces: the
    backbone must already be frozen at construction
    (``backbone=dict(frozen_stages=4, norm_eval=True)`` for ResNet, or
    ``type='FrozenBackbone'``, see
    :func:`~mmdet_inbreast.models.backbones.build_frozen_backbone`), as in
    ``configs/retina_full.py``; the hook then only checks and logs. A
    wrapped model with a trainable backbone is refused (DDP would wait for
    gradients that never come).

    Args:
        module (str): Attribute path of the module to freeze. Defaults to
            ``'backbone'`` (``'neck'`` or ``'backbone.layer1'`` also work).
    """

    priority = 'VERY_HIGH'

    def __init__(self, module: str = 'backbone') -> None:
        self.module = module

    def before_train(self, runner) -> None:
        """Freeze and log the parameter counts."""
        model = runner.model
        wrapped = is_model_wrapper(model)
        if wrapped:
            model = model.module
        target = model
        for name in self.module.split('.'):
            if not hasattr(target, name):
                raise AttributeError(
                    f'FreezeBackboneHook: model {type(model).__name__} has no '
                    f'{self.module!r}; set module= to an existing submodule')
            target = getattr(target, name)
        if wrapped and not is_frozen(target):
            raise InputError(
                f'FreezeBackboneHook: the model is wrapped in '
                f'{type(runner.model).__name__}, but its {self.module} is '
                'not frozen; freeze it at construction: '
                'model.backbone.frozen_stages=4 and '
                'model.backbone.norm_eval=True (ResNet), or '
                "type='FrozenBackbone'")
        how = freeze_module(target)
        trainable = sum(p.numel() for p in model.parameters()
                        if p.requires_grad)
        total = sum(p.numel() for p in model.parameters())
        runner.logger.info(
            f'FreezeBackboneHook: froze {self.module} '
            f'({type(target).__name__}, via {how}); trainable parameters '
            f'{trainable:,} of {total:,}')

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(module={self.module!r})'
