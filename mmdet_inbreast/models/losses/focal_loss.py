"""Sigmoid focal loss in pure torch, safe under bf16/fp16 autocast.

Why this exists: mmdet's :class:`~mmdet.models.losses.FocalLoss` sends
label-index targets on CUDA to mmcv's ``sigmoid_focal_loss`` kernel, which is
compiled for float32, float64 and float16 only
(``AT_DISPATCH_FLOATING_TYPES_AND_HALF`` in mmcv 2.1's
``ops/csrc/pytorch/cuda/focal_loss_cuda.cu``). Under ``bfloat16`` autocast the
RetinaNet classification logits are bf16 and the kernel fails (no BFloat16
dispatch), so stock RetinaNet cannot train with ``--amp-dtype bfloat16``. On
the CPU mmdet already uses its pure-torch ``py_sigmoid_focal_loss``; this
module is that computation rewritten to be numerically stable, computed in
float32 whatever the input dtype, and short enough (a handful of elementwise
ops) to be fused by ``torch.compile`` on CUDA when asked.
"""
import functools
from typing import Callable, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.losses.utils import weight_reduce_loss
from mmdet.registry import MODELS
from torch import Tensor

_REDUCTIONS = ('none', 'mean', 'sum')


def _binary_focal_loss(pred: Tensor, target: Tensor, gamma: float,
                       alpha: float) -> Tensor:
    """Elementwise focal loss for hard (0/1) targets, in float32.

    With ``s = 1 - 2 * target`` and ``z = s * pred`` (the logit of the
    probability of being *wrong*), the focal loss of
    `Lin et al. 2017 <https://arxiv.org/abs/1708.02002>`_ is
    ``alpha_t * sigmoid(z) ** gamma * softplus(z)``: ``softplus(z)`` is the
    binary cross-entropy and ``sigmoid(z)`` is mmdet's ``pt`` (which is
    ``1 - p_t`` in the paper's notation). Both are stable for any finite
    logit, and ``sigmoid(z)`` does not lose precision to ``1 - p``
    cancellation as ``p`` approaches 1.

    Args:
        pred (Tensor): Logits of any shape, any floating dtype.
        target (Tensor): Same shape as ``pred``; 0/1 values of any dtype
            (bool, integer or floating).
        gamma (float): Focusing parameter.
        alpha (float): Weight of the positives; negatives get
            ``1 - alpha``.

    Returns:
        Tensor: float32 elementwise loss, the shape of ``pred``.
    """
    pred = pred.float()
    target = target.float()
    z = pred * (1.0 - 2.0 * target)
    alpha_t = target * (2.0 * alpha - 1.0) + (1.0 - alpha)
    return F.softplus(z) * alpha_t * torch.sigmoid(z).pow(gamma)


def _soft_focal_loss(pred: Tensor, target: Tensor, gamma: float,
                     alpha: float) -> Tensor:
    """Elementwise focal loss for soft targets in [0, 1], in float32.

    The same formula as mmdet's ``py_sigmoid_focal_loss`` for any real target
    ``t``: ``(alpha * t + (1 - alpha) * (1 - t)) * pt ** gamma * BCE`` with
    ``pt = (1 - p) * t + p * (1 - t)``. ``pt`` is computed as
    ``lerp(sigmoid(x), sigmoid(-x), t)``, exact at ``t`` = 0 and 1.

    Args:
        pred (Tensor): Logits of any shape, any floating dtype.
        target (Tensor): Same shape as ``pred``, floating, values in [0, 1].
        gamma (float): Focusing parameter.
        alpha (float): Weight of the positives.

    Returns:
        Tensor: float32 elementwise loss, the shape of ``pred``.
    """
    pred = pred.float()
    target = target.float()
    pt = torch.lerp(torch.sigmoid(pred), torch.sigmoid(-pred), target)
    alpha_t = target * (2.0 * alpha - 1.0) + (1.0 - alpha)
    bce = F.binary_cross_entropy_with_logits(pred, target, reduction='none')
    return bce * alpha_t * pt.pow(gamma)


def _prob_focal_loss(pred: Tensor, target: Tensor, gamma: float,
                     alpha: float) -> Tensor:
    """Elementwise focal loss on probabilities (``activated=True``), float32.

    Mirrors mmdet's ``py_focal_loss_with_prob``; ``F.binary_cross_entropy``
    clamps its logarithms at -100 as usual.

    Args:
        pred (Tensor): Probabilities in [0, 1], any shape and floating dtype.
        target (Tensor): Same shape as ``pred``, values in [0, 1].
        gamma (float): Focusing parameter.
        alpha (float): Weight of the positives.

    Returns:
        Tensor: float32 elementwise loss, the shape of ``pred``.
    """
    pred = pred.float()
    target = target.float()
    pt = torch.lerp(pred, 1.0 - pred, target)
    alpha_t = target * (2.0 * alpha - 1.0) + (1.0 - alpha)
    bce = F.binary_cross_entropy(pred, target, reduction='none')
    return bce * alpha_t * pt.pow(gamma)


@functools.lru_cache(maxsize=None)
def _compiled(fn: Callable) -> Callable:
    """``torch.compile`` ``fn`` once per process (lazily, on first use)."""
    return torch.compile(fn, dynamic=True)


def _broadcast_weight(weight: Tensor, loss: Tensor) -> Tensor:
    """Reshape a loss weight the way mmdet's focal losses do.

    Args:
        weight (Tensor): ``loss``'s shape, (N, ) per prior, or (N * C, ) per
            prior and class, flattened.
        loss (Tensor): Elementwise loss, (N, C).

    Returns:
        Tensor: ``weight`` viewed so that it broadcasts against ``loss``.
    """
    if weight.shape != loss.shape:
        if weight.size(0) == loss.size(0):
            # (num_priors, ): one weight per prior, shared by the classes.
            weight = weight.view(-1, 1)
        elif weight.numel() == loss.numel():
            # (num_priors * num_classes, ), flattened (FSAF does this).
            weight = weight.view(loss.size(0), -1)
        else:
            raise ValueError(
                f'weight of shape {tuple(weight.shape)} fits neither the loss '
                f'{tuple(loss.shape)} nor ({loss.size(0)}, ) nor '
                f'({loss.numel()}, )')
    if weight.ndim != loss.ndim:
        raise ValueError(
            f'weight of shape {tuple(weight.shape)} does not broadcast '
            f'against the loss of shape {tuple(loss.shape)}')
    return weight


@MODELS.register_module()
class SigmoidFocalLoss(nn.Module):
    """Sigmoid `focal loss <https://arxiv.org/abs/1708.02002>`_ for mixed
    precision: a drop-in replacement for mmdet's ``FocalLoss``.

    mmdet's ``FocalLoss`` computes label-index targets on CUDA with mmcv's
    ``sigmoid_focal_loss`` kernel, which has no BFloat16 implementation, so
    RetinaNet fails under bf16 autocast. This loss is pure torch and gives
    the same values and gradients as ``FocalLoss`` (checked in float32 on
    the CPU to 1e-5, see ``tests/test_models/test_losses/test_focal_loss.py``)
    with the same constructor, ``forward`` signature and conventions:

    - ``alpha`` weighs the positives and ``1 - alpha`` the negatives; the
      modulating factor is ``(1 - p_t) ** gamma``.
    - ``target`` is either class indices, (N, ) integers in
      ``[0, num_classes]`` with ``num_classes`` meaning background (all C
      sigmoids are negatives), or the same shape as ``pred`` (one-hot, or
      soft targets in [0, 1]).
    - ``weight`` is (N, ), (N, C) or (N * C, ); ``avg_factor`` and the
      reductions go through mmdet's ``weight_reduce_loss``.

    Whatever the dtype of ``pred`` (float32, bfloat16, float16), the loss is
    computed in float32 with autocast disabled: the logits are upcast, and the
    returned loss is float32. Gradients flow back to ``pred`` in its own
    dtype.

    Hard targets (class indices, or a bool/integer one-hot) are computed as
    ``alpha_t * sigmoid(z) ** gamma * softplus(z)`` of the sign-flipped logit
    ``z``, which avoids the cancellations of ``1 - p`` and of PyTorch's
    float32 ``binary_cross_entropy_with_logits`` for confident negatives:
    elementwise it is closer to a float64 reference than ``FocalLoss``.
    Floating one-hot targets, which may be soft, use ``FocalLoss``'s general
    formula.

    Differences from ``FocalLoss``: label indices outside ``[0, C)`` (such as
    ``num_classes``, or -1) count as background, as in mmcv's CUDA kernel,
    where ``FocalLoss``'s CPU path raises in ``F.one_hot`` for -1 or values
    above ``num_classes``; bad arguments raise ``ValueError`` instead of
    ``AssertionError``.

    Args:
        use_sigmoid (bool): Must be True (only the sigmoid form exists, as in
            mmdet). Defaults to True.
        gamma (float): Focusing parameter. Defaults to 2.0.
        alpha (float): Weight of the positives. Defaults to 0.25.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
            Defaults to ``'mean'``.
        loss_weight (float): Factor on the loss. Defaults to 1.0.
        activated (bool): Whether ``pred`` holds probabilities rather than
            logits. Defaults to False.
        fused (bool): On CUDA, run the elementwise core through
            ``torch.compile`` (compiled lazily on the first CUDA call, once
            per process; ignored on the CPU, where eager is used). Defaults to
            False.

    Example:
        >>> loss = SigmoidFocalLoss(gamma=2.0, alpha=0.25)
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
        super().__init__()
        if use_sigmoid is not True:
            raise ValueError(
                f'use_sigmoid={use_sigmoid!r}: only the sigmoid focal loss '
                'is implemented (as in mmdet); set use_sigmoid=True')
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f'reduction={reduction!r}; expected one of {_REDUCTIONS}')
        self.use_sigmoid = use_sigmoid
        self.gamma = float(gamma)
        self.alpha = float(alpha)
        self.reduction = reduction
        self.loss_weight = loss_weight
        self.activated = activated
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
        reduction = reduction_override if reduction_override else \
            self.reduction

        if pred.dim() == target.dim():
            if pred.shape != target.shape:
                raise ValueError(
                    f'one-hot target of shape {tuple(target.shape)} does not '
                    f'match pred of shape {tuple(pred.shape)}')
            soft = target.is_floating_point()
        else:
            if pred.dim() != 2 or target.shape != pred.shape[:1]:
                raise ValueError(
                    f'class-index target of shape {tuple(target.shape)} needs '
                    f'pred of shape (N, C) with the same N, got pred of shape '
                    f'{tuple(pred.shape)}')
            # (N, C) 0/1 targets; index C (background), like any value
            # outside [0, C), matches no class.
            classes = torch.arange(pred.size(1), device=target.device)
            target = target.unsqueeze(1) == classes
            soft = False

        if self.activated:
            core = _prob_focal_loss
        else:
            core = _soft_focal_loss if soft else _binary_focal_loss
        if self.fused and pred.is_cuda:
            core = _compiled(core)
        with torch.autocast(device_type=pred.device.type, enabled=False):
            loss = core(pred, target, self.gamma, self.alpha)
            if weight is not None:
                weight = _broadcast_weight(weight, loss).float()
            loss = weight_reduce_loss(loss, weight, reduction, avg_factor)
        return self.loss_weight * loss
