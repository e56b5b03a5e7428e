"""FrozenBackbone: build a backbone already frozen (weights and BN stats).

Phase 2 fine-tunes the neck and head only. Freezing at construction, before
the runner wraps the model in ``DistributedDataParallel`` and builds the
optimizer, lets DDP leave the frozen parameters out of its buckets, so it
needs no ``find_unused_parameters=True`` (a graph walk every step).
"""
from __future__ import annotations

import types

from mmdet.registry import MODELS
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


def is_frozen(module: nn.Module) -> bool:
    """Whether ``module`` has no trainable parameter and its BatchNorm
    layers are in eval mode (their statistics do not move).

    Args:
        module (nn.Module): Any module.

    Returns:
        bool: True when frozen.
    """
    if any(p.requires_grad for p in module.parameters()):
        return False
    return not any(m.training for m in module.modules()
                   if isinstance(m, nn.modules.batchnorm._BatchNorm))


@MODELS.register_module(name='FrozenBackbone')
def build_frozen_backbone(backbone: dict) -> nn.Module:
    """Build ``backbone`` and freeze it with :func:`freeze_module`.

    The returned module *is* the inner backbone (no wrapper), so its
    state-dict keys, and the checkpoints of phase 1, are unchanged::

        model = dict(backbone=dict(
            type='FrozenBackbone',
            backbone=dict(type='SwinTransformer', ...)))

    For mmdet's ResNet family the same is one line:
    ``backbone=dict(frozen_stages=4, norm_eval=True)`` (what
    ``configs/retina_full.py`` uses).

    Args:
        backbone (dict): Config of the backbone to build.

    Returns:
        nn.Module: The frozen backbone.
    """
    module = MODELS.build(backbone)
    freeze_module(module)
    return module
