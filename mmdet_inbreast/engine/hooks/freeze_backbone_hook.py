"""FreezeBackboneHook: keep the backbone's weights and BN statistics fixed."""
from __future__ import annotations

import types

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmdet.registry import HOOKS
from torch import nn


def freeze_module(module: nn.Module) -> str:
    """Freeze ``module`` so that ``train()`` cannot undo it.

    mmdet's ``ResNet`` (and ``ResNeXt``, ``RegNet``...) re-apply
    ``frozen_stages`` inside their own ``train()``, which mmengine calls at
    every epoch; flipping ``requires_grad`` alone is therefore undone for
    BatchNorm statistics. So the freeze goes through the backbone itself:
    when it has ``frozen_stages`` and ``_freeze_stages()``, every stage is
    declared frozen (``frozen_stages = num_stages``, ``norm_eval = True``)
    and ``_freeze_stages()`` is called; then its own ``train()`` keeps it
    frozen. Any other module gets ``requires_grad=False`` and an instance
    ``train()`` that always puts it in eval mode (BatchNorm and Dropout
    frozen).

    Args:
        module (nn.Module): The backbone.

    Returns:
        str: How it was frozen (``'frozen_stages'`` or ``'eval-train'``).
    """
    how = 'eval-train'
    if hasattr(module, 'frozen_stages') and hasattr(module, '_freeze_stages'):
        module.frozen_stages = getattr(module, 'num_stages',
                                       len(getattr(module, 'res_layers', [])))
        if hasattr(module, 'norm_eval'):
            module.norm_eval = True
        module._freeze_stages()
        how = 'frozen_stages'
    for p in module.parameters():
        p.requires_grad_(False)

    def train(self: nn.Module, mode: bool = True) -> nn.Module:
        nn.Module.train(self, False)
        return self

    module.train = types.MethodType(train, module)
    module.eval()
    return how


@HOOKS.register_module()
class FreezeBackboneHook(Hook):
    """Freeze the backbone for fine-tuning (phase 2 of the seed's training).

    Weights **and** BatchNorm running statistics stay bit-identical: see
    :func:`freeze_module`. Acts in ``before_train`` (the optimizer is built
    by then; frozen parameters get no gradient, so SGD/Adam and weight
    decay skip them) and logs trainable / total parameter counts.

    Under distributed training the model was wrapped before this hook runs,
    so use ``model_wrapper_cfg=dict(type='MMDistributedDataParallel',
    find_unused_parameters=True)`` (``configs/retina_full.py`` does).

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
        if is_model_wrapper(model):
            model = model.module
        target = model
        for name in self.module.split('.'):
            if not hasattr(target, name):
                raise AttributeError(
                    f'FreezeBackboneHook: model {type(model).__name__} has no '
                    f'{self.module!r}; set module= to an existing submodule')
            target = getattr(target, name)
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
