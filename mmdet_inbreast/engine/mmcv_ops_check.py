"""Fail at start-up when a model on CUDA would call a missing mmcv kernel.

mmcv 2.1.0 has no wheel for current torch; the build that needs no ``nvcc``
(``FORCE_CUDA=0``, what this project's set-up gives) has CPU kernels only.
A model on a GPU that calls one of mmcv's kernels then fails inside the
first step (``nms_impl: implementation for device cuda:0 not found``), after
the data loaders and the checkpoint were loaded. :func:`check_mmcv_cuda_ops`
finds those calls in the built model and names the config field to change.
"""
from __future__ import annotations

from typing import Optional

import torch
from mmengine.model import is_model_wrapper
from torch import nn

from mmdet_inbreast.utils.errors import InputError


def mmcv_has_cuda_ops() -> bool:
    """Whether mmcv's compiled ops were built with CUDA kernels.

    Returns:
        bool: False for an mmcv built without CUDA (``FORCE_CUDA=0`` or no
        ``nvcc``), whose ``get_compiling_cuda_version()`` is
        ``'not available'``.
    """
    try:
        from mmcv.ops import get_compiling_cuda_version
        version = get_compiling_cuda_version()
    except Exception:
        return False
    return bool(version) and version != 'not available'


def model_device(model: nn.Module) -> torch.device:
    """The device of ``model``'s first parameter (CPU when it has none).

    Args:
        model (nn.Module): A model or a model wrapper.

    Returns:
        torch.device: Its device.
    """
    if is_model_wrapper(model):
        model = model.module
    for p in model.parameters():
        return p.device
    return torch.device('cpu')


def mmcv_cuda_calls(model: nn.Module) -> list[tuple[str, str]]:
    """Config fields whose component calls an mmcv CUDA kernel on a GPU.

    Found: mmdet's ``FocalLoss`` (mmcv's ``sigmoid_focal_loss`` for
    class-index targets), heads whose test config runs mmcv's ``nms`` (all
    of mmdet's, except :class:`~mmdet_inbreast.models.TorchNMSRetinaHead`),
    and any module from ``mmcv.ops`` (RoIAlign, deformable convolution...).

    Args:
        model (nn.Module): The built model (or its wrapper).

    Returns:
        list[tuple[str, str]]: (config field, what to change), e.g.
        ``('model.bbox_head.loss_cls.type', "set it to
        'TorchSigmoidFocalLoss' ...")``.
    """
    from mmdet.models.losses import FocalLoss

    from mmdet_inbreast.models import TorchNMSRetinaHead, TorchSigmoidFocalLoss
    if is_model_wrapper(model):
        model = model.module
    calls = []
    for name, module in model.named_modules():
        field = f'model.{name}' if name else 'model'
        cls = type(module)
        if isinstance(module, FocalLoss) and not isinstance(
                module, TorchSigmoidFocalLoss):
            calls.append((f'{field}.type',
                          f"{cls.__name__} calls mmcv's CUDA "
                          "sigmoid_focal_loss; set it to "
                          "'TorchSigmoidFocalLoss' (same arguments)"))
        elif cls.__module__.startswith('mmcv.ops'):
            calls.append((f'{field}.type',
                          f"{cls.__name__} is an mmcv CUDA op; replace it "
                          'or build mmcv with its CUDA ops (docs/gpu.md)'))
        test_cfg = getattr(module, 'test_cfg', None)
        if (name and test_cfg is not None and hasattr(test_cfg, 'get')
                and test_cfg.get('nms') is not None
                and not isinstance(module, TorchNMSRetinaHead)):
            fix = ("set it to 'TorchNMSRetinaHead'" if cls.__name__ ==
                   'RetinaHead' else 'use a head with torch NMS or build '
                   'mmcv with its CUDA ops (docs/gpu.md)')
            calls.append((f'{field}.type',
                          f"{cls.__name__} runs mmcv's CUDA nms at test "
                          f'time; {fix}'))
    return calls


def check_mmcv_cuda_ops(model: nn.Module,
                        device: Optional[torch.device] = None) -> None:
    """Raise when ``model`` runs on CUDA and calls a missing mmcv kernel.

    Args:
        model (nn.Module): The built model (or its wrapper).
        device (torch.device, optional): Where it runs. Defaults to None
            (the device of its parameters).

    Raises:
        InputError: One line naming every config field to change.
    """
    device = torch.device(device) if device is not None else \
        model_device(model)
    if device.type != 'cuda' or mmcv_has_cuda_ops():
        return
    calls = mmcv_cuda_calls(model)
    if calls:
        fields = '; '.join(f'{field}: {fix}' for field, fix in calls)
        raise InputError(
            f'the model runs on {device} but mmcv {_mmcv_version()} was built '
            f'without CUDA ops; change {fields}')


def _mmcv_version() -> str:
    import mmcv
    return mmcv.__version__
