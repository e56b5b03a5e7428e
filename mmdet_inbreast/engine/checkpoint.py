"""Safe loading of mmengine checkpoints under torch >= 2.6.

torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine
0.10.7 calls ``torch.load`` without an allowlist, so ``load_from``,
``--resume`` and ``tools/test.py`` fail on mmengine's own checkpoints: their
message hub holds numpy scalars and arrays and ``HistoryBuffer`` objects
(which pickle their statistics methods through ``getattr``).

This module replaces mmengine's loader for local files with one that keeps
``weights_only=True`` and allows exactly those types, only while it loads
(``torch.serialization.safe_globals``; nothing is added globally, and
entries the user had allowed globally before stay allowed after).
``builtins.getattr`` is *not* allowed as such: the name is bound to
:func:`_history_buffer_getattr`, which hands out only ``HistoryBuffer``'s
own statistics methods (min, max, current, mean). A checkpoint that pickles
any other object (an arbitrary class, ``os.system`` via ``__reduce__``, ...)
is still refused with ``pickle.UnpicklingError``.
"""
from __future__ import annotations

import pickle
from typing import Any, Optional

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader


#: The methods pickle writes as ``getattr(HistoryBuffer, name)`` (protocol
#: 2 cannot name ``HistoryBuffer.mean`` directly). A fixed set: the class's
#: ``_statistics_methods`` dict is filled from the checkpoint itself
#: (``HistoryBuffer.__setstate__``), so it must not widen what is handed out.
_HISTORY_BUFFER_METHODS = frozenset({'min', 'max', 'current', 'mean'})


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` restricted to ``HistoryBuffer``'s statistics methods."""
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_METHODS:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'refused getattr({obj!r}, {name!r}) while loading a checkpoint: '
        'only HistoryBuffer statistics methods are allowed')


def _numpy_globals() -> list:
    from numpy._core.multiarray import _reconstruct, scalar
    dtype_classes = [type(np.dtype(t)) for t in (
        np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
        np.uint32, np.uint64, np.float16, np.float32, np.float64,
        np.complex64, np.complex128)]
    # numpy < 2 wrote these as numpy.core.multiarray.*: checkpoints saved
    # there (older environments, other machines) name the same functions.
    legacy = [(scalar, 'numpy.core.multiarray.scalar'),
              (_reconstruct, 'numpy.core.multiarray._reconstruct')]
    return [scalar, _reconstruct, np.ndarray, np.dtype, *dtype_classes,
            *legacy]


def checkpoint_safe_globals() -> list:
    """The allowlist used while loading: numpy scalars/arrays/dtypes,
    ``HistoryBuffer``, and the restricted ``getattr``."""
    return _numpy_globals() + [
        HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')
    ]


def safe_torch_load(filename: Any, map_location: Optional[Any] = None) -> Any:
    """``torch.load(filename, weights_only=True)`` that accepts mmengine
    checkpoints.

    Args:
        filename (str | file-like): The checkpoint.
        map_location: As :func:`torch.load`.

    Returns:
        The loaded object (a dict for mmengine checkpoints).

    Raises:
        pickle.UnpicklingError: If the file pickles anything outside the
            allowlist; the message names the file and what to do.
    """
    # ``safe_globals`` removes its entries on exit, also those that were
    # allowed globally before: add only the missing ones.
    allowed = torch.serialization.get_safe_globals()
    extra = [g for g in checkpoint_safe_globals() if g not in allowed]
    # ``HistoryBuffer.__setstate__`` merges the pickled statistics methods
    # into a dict shared by the class: put it back as it was afterwards.
    methods = dict(HistoryBuffer._statistics_methods)
    try:
        with torch.serialization.safe_globals(extra):
            return torch.load(filename, map_location=map_location,
                              weights_only=True)
    except pickle.UnpicklingError as e:
        reason = str(e).split('WeightsUnpickler error:')[-1].strip()
        reason = reason.splitlines()[0] if reason else str(e)
        raise pickle.UnpicklingError(
            f'{filename}: refused to load: the checkpoint pickles objects '
            'that are not weights, numpy arrays or mmengine log buffers. If '
            'you trust this file and its source, load it yourself with '
            'torch.load(..., weights_only=False) and re-save its '
            f"'state_dict'. Refused: {reason}") from None
    finally:
        HistoryBuffer._statistics_methods.clear()
        HistoryBuffer._statistics_methods.update(methods)


def load_from_local_safe(filename: str, map_location: Optional[Any] = None):
    """mmengine's local-file checkpoint loader, made safe (see module)."""
    import os.path as osp
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return safe_torch_load(filename, map_location)


def register_safe_checkpoint_loader() -> None:
    """Make mmengine load local checkpoints with :func:`safe_torch_load`
    (called when ``mmdet_inbreast`` is imported)."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local_safe, force=True)


register_safe_checkpoint_loader()
