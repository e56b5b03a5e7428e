"""Mixed-precision (AMP) settings of a training config: float16, bfloat16."""
import logging
from typing import Any, List, Optional

import torch
from mmengine.config import Config
from mmengine.logging import print_log

from ..models.losses import TorchSigmoidFocalLoss

#: dtypes accepted by :func:`setup_amp` (names as in ``torch``).
AMP_DTYPES = ('float16', 'bfloat16')
#: loss types swapped for :class:`TorchSigmoidFocalLoss` under bfloat16.
_MMCV_FOCAL_LOSSES = ('FocalLoss', 'mmdet.FocalLoss')


def setup_amp(cfg: Config, dtype: Optional[str] = None) -> str:
    """Switch a training config to automatic mixed precision, in place.

    Called by ``tools/train.py`` for ``--amp`` / ``--amp-dtype``; the dtype
    comes from, in order: the ``dtype`` argument, the config's top-level
    ``amp_dtype`` field, ``'float16'`` (what mmdet's own ``--amp`` gives).

    What it sets in ``cfg.optim_wrapper``:

    - ``type='AmpOptimWrapper'`` (mmengine's wrapper: it runs the forward
      pass, losses included, under ``torch.autocast(dtype=dtype)`` and
      steps through a ``torch.cuda.amp.GradScaler``).
    - ``dtype``: the autocast dtype.
    - ``loss_scale``, unless the config already sets one: ``'dynamic'`` for
      float16, whose 5-bit exponent underflows small gradients without
      scaling. mmengine's wrapper builds a ``GradScaler`` for every dtype;
      bfloat16 has float32's 8-bit exponent and needs no scaling, so it gets
      the static scale ``1.0``: the scaler then multiplies by one and only
      skips the steps whose gradients are inf/NaN.

    Under bfloat16 it also swaps every ``FocalLoss`` in ``cfg.model`` (as in
    RetinaNet's ``bbox_head.loss_cls``) for :class:`TorchSigmoidFocalLoss`
    with the same arguments and logs a warning: mmdet's ``FocalLoss`` calls
    mmcv's CUDA ``sigmoid_focal_loss`` kernel, which has no BFloat16 version
    (and is missing from an mmcv built without CUDA ops). (Loss
    types given as classes rather than names are left alone.) float16 keeps
    ``FocalLoss``: the kernel has a Half version.

    mmengine's ``AmpOptimWrapper`` requires a GPU (NPU, MLU, MUSA) when the
    runner builds it; this function only edits the config.

    Args:
        cfg (Config): Training config with an ``optim_wrapper`` of type
            ``OptimWrapper`` (or no type) or ``AmpOptimWrapper``. Modified in
            place.
        dtype (str, optional): ``'float16'`` or ``'bfloat16'``; None defers
            to ``cfg.amp_dtype``, then ``'float16'``. Defaults to None.

    Returns:
        str: The dtype that was set, ``'float16'`` or ``'bfloat16'``.

    Raises:
        ValueError: The dtype is not one of :data:`AMP_DTYPES`; the config has
            no ``optim_wrapper`` or one of another type; or it already is an
            ``AmpOptimWrapper`` with a different ``dtype``.
    """
    cfg_dtype = _dtype_name(cfg.get('amp_dtype', None))
    dtype = _dtype_name(dtype)
    if dtype is None:
        dtype = 'float16' if cfg_dtype is None else cfg_dtype
    elif cfg_dtype is not None and cfg_dtype != dtype:
        print_log(
            f'AMP: dtype {dtype!r} from the command line overrides '
            f'amp_dtype={cfg_dtype!r} in the config',
            logger='current',
            level=logging.WARNING)
    if dtype not in AMP_DTYPES:
        raise ValueError(f'AMP dtype {dtype!r} is not supported; use one of '
                         f'{AMP_DTYPES} (--amp-dtype or cfg.amp_dtype)')

    optim_wrapper = cfg.get('optim_wrapper', None)
    if optim_wrapper is None:
        raise ValueError('AMP needs a training config, but this one has no '
                         '`optim_wrapper`')
    wrapper_type = optim_wrapper.get('type', 'OptimWrapper')
    wrapper_name = wrapper_type.split('.')[-1] if isinstance(
        wrapper_type, str) else getattr(wrapper_type, '__name__', '')
    if wrapper_name == 'AmpOptimWrapper':
        current = optim_wrapper.get('dtype', None)
        if current is not None and _dtype_name(current) != dtype:
            raise ValueError(
                f'optim_wrapper is already an AmpOptimWrapper with '
                f'dtype={current!r}, but AMP was asked for {dtype!r}; change '
                'or drop optim_wrapper.dtype in the config, or ask for '
                f'{_dtype_name(current)!r}')
        print_log(
            'AMP: optim_wrapper is already an AmpOptimWrapper in the config',
            logger='current',
            level=logging.INFO)
    elif wrapper_name != 'OptimWrapper':
        raise ValueError(f'AMP needs optim_wrapper of type OptimWrapper or '
                         f'AmpOptimWrapper, got {wrapper_type!r}')

    optim_wrapper.type = 'AmpOptimWrapper'
    optim_wrapper.dtype = dtype
    if optim_wrapper.get('loss_scale', None) is None:
        optim_wrapper.loss_scale = 'dynamic' if dtype == 'float16' else 1.0

    if dtype == 'bfloat16' and cfg.get('model', None) is not None:
        swapped = _swap_focal_losses(cfg.model, 'model')
        if swapped:
            print_log(
                f'AMP: bfloat16: replaced FocalLoss with '
                f'{TorchSigmoidFocalLoss.__name__} (same arguments) at '
                f'{", ".join(swapped)}: mmcv\'s CUDA sigmoid_focal_loss has '
                'no BFloat16 kernel',
                logger='current',
                level=logging.WARNING)
    print_log(
        f'AMP: AmpOptimWrapper, dtype={dtype}, '
        f'loss_scale={optim_wrapper.loss_scale!r}',
        logger='current',
        level=logging.INFO)
    return dtype


def _dtype_name(dtype: Any) -> Any:
    """``torch.bfloat16`` -> ``'bfloat16'``; anything else unchanged."""
    if isinstance(dtype, torch.dtype):
        return str(dtype).replace('torch.', '')
    return dtype


def _swap_focal_losses(node: Any, path: str) -> List[str]:
    """Replace ``type='FocalLoss'`` by ``'TorchSigmoidFocalLoss'``.

    Recursively, in dicts, lists and tuples.

    Args:
        node (Any): A config node (dict, list, tuple or leaf); dicts and lists
            are modified in place.
        path (str): Dotted path of ``node``, for the log.

    Returns:
        list[str]: Dotted paths of the replaced loss configs.
    """
    swapped = []
    if isinstance(node, dict):
        loss_type = node.get('type', None)
        if isinstance(loss_type, str) and loss_type in _MMCV_FOCAL_LOSSES:
            node['type'] = loss_type.replace('FocalLoss',
                                             TorchSigmoidFocalLoss.__name__)
            swapped.append(path)
        for key, value in node.items():
            swapped += _swap_focal_losses(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            swapped += _swap_focal_losses(value, f'{path}[{i}]')
    return swapped
