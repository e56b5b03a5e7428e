"""TorchSigmoidFocalLoss: mmdet's FocalLoss in pure torch, float32 inside.

mmdet's :class:`~mmdet.models.losses.FocalLoss` sends label-index targets on
CUDA to mmcv's ``sigmoid_focal_loss`` kernel. That kernel exists only in an
mmcv built with its CUDA ops (a build that needs ``nvcc``), and it is
compiled for float32, float64 and float16 only
(``AT_DISPATCH_FLOATING_TYPES_AND_HALF`` in mmcv 2.1's
``ops/csrc/pytorch/cuda/focal_loss_cuda.cu``): under ``bfloat16`` autocast
stock RetinaNet fails. This subclass always takes mmdet's own pure-torch path
(``py_sigmoid_focal_loss``, or ``py_focal_loss_with_prob`` for
probabilities), on any device, in float32 whatever the input dtype.
"""
import functools
from typing import Callable, Optional, Union

import torch
from mmdet.models.losses import FocalLoss
from mmdet.models.losses.focal_loss import (py_focal_loss_with_prob,
                                            py_sigmoid_focal_loss)
from mmdet.registry import MODELS
from torch import Tensor

_REDUCTIONS = ('none', 'mean', 'sum')


@functools.lru_cache(maxsize=None)
def _compiled(fn: Callable) -> Callable:
    """``torch.compile`` ``fn`` once per process (lazily, on first use)."""
    return torch.compile(fn, dynamic=True)


def _check_weight(weight: Tensor, pred: Tensor) -> None:
    """Raise ``ValueError`` for a weight mmdet's focal losses cannot reshape.

    Args:
        weight (Tensor): (N, C), (N, ) per prior, or (N * C, ) per prior and
            class, flattened (FSAF).
        pred (Tensor): (N, C) predictions.
    """
    if weight.shape == pred.shape:
        return
    if weight.size(0) == pred.size(0) and weight.dim() == 1:
        return
    if weight.dim() == 1 and weight.numel() == pred.numel():
        return
    raise ValueError(
        f'weight of shape {tuple(weight.shape)} fits neither the loss '
        f'{tuple(pred.shape)} nor ({pred.size(0)}, ) nor ({pred.numel()}, )')


@MODELS.register_module()
class TorchSigmoidFocalLoss(FocalLoss):
    """mmdet's sigmoid ``FocalLoss`` through its pure-torch path, in float32.

    Same constructor, ``forward`` signature and conventions as
    :class:`~mmdet.models.losses.FocalLoss` (``alpha`` weighs the positives,
    ``target`` is (N, ) class indices with ``num_classes`` as background or
    the shape of ``pred``; ``weight`` (N, ), (N, C) or (N * C, )), and the
    same values: the computation *is* mmdet's ``py_sigmoid_focal_loss``.
    What changes:

    - it never calls mmcv's CUDA ``sigmoid_focal_loss`` kernel, so it runs
      with an mmcv built without CUDA ops, and under bf16 autocast;
    - ``pred`` is upcast to float32 and autocast is disabled inside, so the
      loss is float32 for float32, float16 and bfloat16 logits; gradients
      flow back to ``pred`` in its own dtype;
    - class indices outside ``[0, C)`` (``num_classes``, or -1) count as
      background, as in mmcv's kernel (``FocalLoss``'s CPU path raises in
      ``F.one_hot`` for -1);
    - bad arguments raise ``ValueError`` rather than ``AssertionError``.

    The name differs from ``mmcv.ops.SigmoidFocalLoss`` (mmcv's own module,
    which calls the CUDA kernel) on purpose.

    Args:
        use_sigmoid (bool): Must be True (as in mmdet). Defaults to True.
        gamma (float): Focusing parameter. Defaults to 2.0.
        alpha (float): Weight of the positives. Defaults to 0.25.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
            Defaults to ``'mean'``.
        loss_weight (float): Factor on the loss. Defaults to 1.0.
        activated (bool): Whether ``pred`` holds probabilities rather than
            logits. Defaults to False.
        fused (bool): On CUDA, run mmdet's elementwise function through
            ``torch.compile`` (compiled lazily on the first CUDA call, once
            per process; ignored on the CPU). Defaults to False.

    Example:
        >>> loss = TorchSigmoidFocalLoss(gamma=2.0, alpha=0.25)
        >>> pred = torch.zeros(2, 1)
        >>> loss(pred, torch.tensor([0, 1]), reduction_override='sum')
        tensor(0.1733)
    """

    def __init__(self,
                 use_sigmoid: bool = True,
                 gamma: float = 2.0,
                 alpha: float = 0.25,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 activated: bool = False,
                 fused: bool = False) -> None:
        if use_sigmoid is not True:
            raise ValueError(
                f'use_sigmoid={use_sigmoid!r}: only the sigmoid focal loss '
                'is implemented (as in mmdet); set use_sigmoid=True')
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f'reduction={reduction!r}; expected one of {_REDUCTIONS}')
        super().__init__(use_sigmoid=True, gamma=float(gamma),
                         alpha=float(alpha), reduction=reduction,
                         loss_weight=loss_weight, activated=activated)
        self.fused = fused

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[Union[int, float, Tensor]] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): (N, C) logits (probabilities if ``activated``),
                any floating dtype. With a target of the same shape any
                shape is accepted.
            target (Tensor): (N, ) class indices (integer, ``C`` =
                background) or the shape of ``pred`` (one-hot or soft).
            weight (Tensor, optional): (N, ), (N, C) or (N * C, ) weights.
                Defaults to None.
            avg_factor (int | float | Tensor, optional): Divisor of the summed
                loss for ``'mean'`` (typically the number of positives).
                Defaults to None.
            reduction_override (str, optional): ``'none'``, ``'mean'`` or
                ``'sum'``, replacing ``self.reduction``. Defaults to None.

        Returns:
            Tensor: float32 loss; a scalar, or the shape of ``pred`` for
            ``'none'``.
        """
        if reduction_override not in (None, ) + _REDUCTIONS:
            raise ValueError(f'reduction_override={reduction_override!r}; '
                             f'expected None or one of {_REDUCTIONS}')
        reduction = reduction_override or self.reduction
        if pred.dim() == target.dim():
            if pred.shape != target.shape:
                raise ValueError(
                    f'one-hot target of shape {tuple(target.shape)} does not '
                    f'match pred of shape {tuple(pred.shape)}')
        else:
            if pred.dim() != 2 or target.shape != pred.shape[:1]:
                raise ValueError(
                    f'class-index target of shape {tuple(target.shape)} needs '
                    f'pred of shape (N, C) with the same N, got pred of shape '
                    f'{tuple(pred.shape)}')
            # (N, C) one-hot; index C (background), like any value outside
            # [0, C), matches no class.
            classes = torch.arange(pred.size(1), device=target.device)
            target = target.unsqueeze(1) == classes
        if weight is not None:
            _check_weight(weight, pred)

        fn = py_focal_loss_with_prob if self.activated else \
            py_sigmoid_focal_loss
        if self.fused and pred.is_cuda:
            fn = _compiled(fn)
        with torch.autocast(device_type=pred.device.type, enabled=False):
            loss = fn(pred.float(), target.float(),
                      None if weight is None else weight.float(),
                      gamma=self.gamma, alpha=self.alpha,
                      reduction=reduction, avg_factor=avg_factor)
        return self.loss_weight * loss
