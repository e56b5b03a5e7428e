"""Does a checkpoint's state dict fit a model? Refuse it when it does not.

mmengine's ``load_from`` loads with ``strict=False``: a checkpoint of
another model (a full-width ResNet-18 into the half-width demo model) ends
in a hundred size-mismatch warnings, and training or testing goes on from
random weights with exit status 0. :func:`check_checkpoint_fits` compares
the tensors first and refuses such a checkpoint with one line naming the
config, the first mismatched tensor (expected and found shape) and the
counts. A partial load (a pre-trained backbone under a new head) is allowed
only when asked for (``partial=True``; in configs ``load_from_partial =
True``), and is then reported: how many tensors were loaded, how many keep
their initialisation.
"""
from __future__ import annotations

import re
from typing import Any, Optional

import torch
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from torch import nn

from .checkpoint import CheckpointError

#: Keys a checkpoint may lack without harm: BatchNorm's step counter is
#: missing from checkpoints of old torch versions and is then set by torch.
_OPTIONAL_KEYS = re.compile(r'(^|\.)num_batches_tracked$')

#: How to allow a partial load, quoted in the refusal.
PARTIAL_HINT = ('to load only the tensors that fit (e.g. a pre-trained '
                'backbone under a new head), set load_from_partial=True '
                '(--cfg-options load_from_partial=True)')


def _state_dict(checkpoint: Any) -> dict:
    """The tensors of a checkpoint, keyed as the model names them
    (mmengine strips a ``module.`` prefix the same way)."""
    if isinstance(checkpoint, dict) and isinstance(
            checkpoint.get('state_dict'), dict):
        checkpoint = checkpoint['state_dict']
    if not isinstance(checkpoint, dict):
        return {}
    return {re.sub(r'^module\.', '', k): v for k, v in checkpoint.items()
            if isinstance(v, torch.Tensor)}


def _shape(t: torch.Tensor) -> str:
    return '(' + ', '.join(str(int(d)) for d in t.shape) + ')'


def compare_state_dicts(expected: dict, found: dict) -> dict:
    """Compare a model's state dict with a checkpoint's.

    Args:
        expected (dict[str, Tensor]): ``model.state_dict()``.
        found (dict[str, Tensor]): The checkpoint's tensors.

    Returns:
        dict: ``total`` (tensors the model has), ``fit`` (names present
        with the right shape), ``mismatched`` (list of ``(name,
        expected_shape, found_shape)`` in the model's order), ``missing``
        (names the checkpoint lacks, optional ones left out) and
        ``unexpected`` (checkpoint names the model does not have).
    """
    mismatched, missing, fit = [], [], []
    for name, tensor in expected.items():
        if name not in found:
            if not _OPTIONAL_KEYS.search(name):
                missing.append(name)
        elif tuple(found[name].shape) != tuple(tensor.shape):
            mismatched.append((name, _shape(tensor), _shape(found[name])))
        else:
            fit.append(name)
    unexpected = [k for k in found if k not in expected]
    return dict(total=len(expected), fit=fit, mismatched=mismatched,
                missing=missing, unexpected=unexpected)


def _describe(report: dict) -> str:
    parts = []
    if report['mismatched']:
        name, want, got = report['mismatched'][0]
        parts.append(f"{len(report['mismatched'])} tensors differ in shape "
                     f'(first: {name} expected {want}, found {got})')
    if report['missing']:
        parts.append(f"{len(report['missing'])} missing (first: "
                     f"{report['missing'][0]})")
    if report['unexpected']:
        parts.append(f"{len(report['unexpected'])} unexpected (first: "
                     f"{report['unexpected'][0]})")
    return ', '.join(parts)


def check_checkpoint_fits(model: nn.Module,
                          checkpoint: Any,
                          filename: str,
                          config: Optional[str] = None,
                          partial: bool = False,
                          logger: Any = 'current') -> dict:
    """Refuse a checkpoint whose weights do not fit ``model``.

    Call it with the loaded checkpoint before its weights go into the model
    (:class:`~mmdet_inbreast.engine.hooks.SafeCheckpointHook` does, in
    ``after_load_checkpoint``; inference calls it before
    ``load_checkpoint``).

    Args:
        model (nn.Module): The model (a wrapper is unwrapped).
        checkpoint (dict): The loaded checkpoint (with ``state_dict``) or a
            bare state dict.
        filename (str): The checkpoint's file, for the messages.
        config (str, optional): The config file, for the messages.
        partial (bool): Allow a partial load: tensors that fit are loaded,
            the others keep their initialisation, and one line says how
            many. Still refused when no tensor fits. Defaults to False.
        logger: Where the partial-load line goes (``print_log``'s
            ``logger``). Defaults to ``'current'``.

    Returns:
        dict: The comparison (see :func:`compare_state_dicts`).

    Raises:
        CheckpointError: Without ``partial``, if any tensor differs in
            shape, is missing or is unexpected; with it, if none fits. The
            message names the file, the config, the first mismatched tensor
            with both shapes, and the counts.
    """
    if is_model_wrapper(model):
        model = model.module
    report = compare_state_dicts(model.state_dict(), _state_dict(checkpoint))
    config = config or 'the config'
    problems = _describe(report)
    if not problems:
        return report
    n_fit, total = len(report['fit']), report['total']
    if not partial:
        raise CheckpointError(
            f'{filename}: its weights do not fit the model of {config}: '
            f'{problems}; {n_fit} of {total} fit. Was it trained with '
            f'another config, or has the config changed since? '
            f'{PARTIAL_HINT[0].upper()}{PARTIAL_HINT[1:]}')
    if n_fit == 0:
        raise CheckpointError(
            f'{filename}: none of its tensors fit the model of {config} '
            f'({problems}), even for a partial load: is it a checkpoint of '
            'this kind of model?')
    print_log(
        f'{filename}: partial load into {config} (load_from_partial=True): '
        f'{n_fit} of {total} tensors loaded, the rest keep their '
        f'initialisation; {problems}', logger=logger)
    return report
