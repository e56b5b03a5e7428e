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
is still refused with :class:`CheckpointRefusedError` (a
``pickle.UnpicklingError``).

Files that are no checkpoint at all are told apart before ``torch.load``
sees them (:func:`checkpoint_file_problem`): an empty or text file (a Git
LFS pointer, an HTML error page) is "not a checkpoint (N bytes)", a zip
archive cut short by a killed save is "truncated (N bytes)". Both raise
:class:`CheckpointError`, an :class:`~mmdet_inbreast.utils.errors.InputError`
that names the file and the fix, so tools print one line.

Saving goes the other way: :func:`atomic_replace` and
:func:`write_text_atomic` put a finished file under its final name in one
``os.replace``, so that a kill never leaves a fragment under that name
(:class:`~mmdet_inbreast.engine.hooks.SafeCheckpointHook`).
"""
from __future__ import annotations

import os
import os.path as osp
import pickle
import struct
import zipfile
from typing import Any, Optional

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from ..utils.errors import InputError


class CheckpointError(InputError):
    """A checkpoint file that cannot be used: missing, empty, text,
    truncated, or weights of another model. The message is one line: the
    file, what is wrong, the fix."""


class CheckpointRefusedError(CheckpointError, pickle.UnpicklingError):
    """A checkpoint that pickles objects outside the allowlist (possibly
    malicious): refused without running any of it."""


#: First bytes of a zip archive: torch >= 1.6 saves checkpoints as zip.
_ZIP_MAGIC = b'PK\x03\x04'
#: First byte of a pickle of protocol >= 2: torch's legacy (< 1.6) format.
_PICKLE_PROTO = 0x80
#: Where :func:`checkpoint_file_problem`'s messages point for a fix.
_FIX_TRUNCATED = ('the save was interrupted (a killed run?): use an earlier '
                  'checkpoint (train with --resume: it picks the newest '
                  'intact one) or copy the file again')
_FIX_CORRUPT = ('the file was damaged after it was written (disk, copy): '
                'use another checkpoint or copy it again')
_FIX_NOT_CKPT = ('give the .pth file that training wrote '
                 '(work_dirs/<config>/epoch_N.pth)')


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


def _file_size(path: str) -> int:
    return os.stat(path).st_size


def _file_problem(path: str, crc: bool) -> Optional[str]:
    """:func:`checkpoint_file_problem` without unpickling anything."""
    if not osp.isfile(path):
        return 'missing'
    size = _file_size(path)
    with open(path, 'rb') as f:
        head = f.read(64)
    if head.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as z:
                if not any(n.endswith('data.pkl') for n in z.namelist()):
                    return (f'not a checkpoint ({size} bytes): a zip archive '
                            'without data.pkl')
                bad = z.testzip() if crc else None
        except (zipfile.BadZipFile, OSError, EOFError):
            return f'truncated ({size} bytes)'
        if bad is not None:
            return f'corrupt ({size} bytes): {bad} fails its CRC check'
        return None
    if head[:1] == bytes([_PICKLE_PROTO]):
        return None  # torch's legacy format: only loading tells
    if size == 0:
        return 'not a checkpoint (0 bytes): the file is empty'
    if head.startswith(b'version https://git-lfs'):
        return (f'not a checkpoint ({size} bytes): a Git LFS pointer; run '
                '"git lfs pull" to fetch the file')
    text = head[:24].decode('utf-8', errors='replace')
    if all(c.isprintable() or c in '\t\r\n' for c in text):
        return f'not a checkpoint ({size} bytes of text: {text!r}...)'
    return f'not a checkpoint ({size} bytes)'


def checkpoint_file_problem(path: str, deep: bool = False) -> Optional[str]:
    """What is wrong with a checkpoint file.

    Args:
        path (str): The file.
        deep (bool): Also check the data: the CRC of every member of a zip
            checkpoint (reads the whole file), and a load with
            :func:`safe_torch_load` for torch's legacy (pre-zip) format.
            Defaults to False: only the first bytes and the zip directory,
            at the end of the file, are read.

    Returns:
        str | None: None if the file looks like a complete checkpoint, else
        a short description: ``'missing'``, ``'not a checkpoint (N bytes)'``
        (empty, text, another kind of file), ``'truncated (N bytes)'`` (a
        zip checkpoint without its directory: the save was cut short) or
        ``'corrupt (N bytes): ...'``.
    """
    problem = _file_problem(path, crc=deep)
    if problem is None and deep and not zipfile.is_zipfile(path):
        try:
            safe_torch_load(path)
        except CheckpointRefusedError:
            return None  # complete, but refused: the loader says why
        except CheckpointError as e:
            return getattr(e, 'problem', str(e))
    return problem


def _problem_error(filename: str, problem: str) -> CheckpointError:
    """The one-line error for a :func:`checkpoint_file_problem` answer."""
    if 'git lfs' in problem:
        error = CheckpointError(f'{filename}: {problem}')
    else:
        fix = (_FIX_TRUNCATED if problem.startswith('truncated') else
               _FIX_CORRUPT if problem.startswith('corrupt') else
               _FIX_NOT_CKPT)
        error = CheckpointError(f'{filename}: {problem}; {fix}')
    error.problem = problem
    return error


def safe_torch_load(filename: Any, map_location: Optional[Any] = None) -> Any:
    """``torch.load(filename, weights_only=True)`` that accepts mmengine
    checkpoints.

    Args:
        filename (str | file-like): The checkpoint.
        map_location: As :func:`torch.load`.

    Returns:
        The loaded object (a dict for mmengine checkpoints).

    Raises:
        CheckpointError: If the file is missing, empty, text or another
            kind of file ("not a checkpoint (N bytes)"), or cut short
            ("truncated (N bytes)"); the message names the file and the fix.
        CheckpointRefusedError: If the file pickles anything outside the
            allowlist (also a ``pickle.UnpicklingError``); the message names
            the file and what to do.
    """
    path = os.fspath(filename) if isinstance(filename, (str, os.PathLike)) \
        else None
    if path is not None:
        # The CRCs too: torch itself would load flipped bits silently.
        problem = _file_problem(path, crc=True)
        if problem == 'missing':
            raise CheckpointError(f'{path}: no such checkpoint file')
        if problem is not None:
            raise _problem_error(path, problem)
    # ``safe_globals`` removes its entries on exit, also those that were
    # allowed globally before: add only the missing ones.
    allowed = torch.serialization.get_safe_globals()
    extra = [g for g in checkpoint_safe_globals() if g not in allowed]
    # ``HistoryBuffer.__setstate__`` merges the pickled statistics methods
    # into a dict shared by the class: put it back as it was afterwards.
    methods = dict(HistoryBuffer._statistics_methods)
    size = f'{_file_size(path)} bytes' if path is not None else 'stream'
    try:
        with torch.serialization.safe_globals(extra):
            return torch.load(filename, map_location=map_location,
                              weights_only=True)
    except (EOFError, struct.error):  # the unpickler ran out of bytes
        raise _problem_error(str(filename), f'truncated ({size})') from None
    except pickle.UnpicklingError as e:
        if 'truncated' in str(e) or 'EOF' in str(e):
            raise _problem_error(str(filename),
                                 f'truncated ({size})') from None
        reason = str(e).split('WeightsUnpickler error:')[-1].strip()
        reason = reason.splitlines()[0] if reason else str(e)
        raise CheckpointRefusedError(
            f'{filename}: refused to load: the checkpoint pickles objects '
            'that are not weights, numpy arrays or mmengine log buffers. If '
            'you trust this file and its source, load it yourself with '
            'torch.load(..., weights_only=False) and re-save its '
            f"'state_dict'. Refused: {reason}") from None
    except RuntimeError as e:
        # torch's readers: 'PytorchStreamReader failed ...' (zip), 'unexpected
        # EOF, expected N more bytes. The file might be corrupted.' (legacy)
        first = str(e).splitlines()[0] if str(e) else ''
        if 'EOF' in first:
            raise _problem_error(str(filename),
                                 f'truncated ({size})') from None
        if 'PytorchStreamReader' in first or 'corrupted' in first:
            raise _problem_error(str(filename),
                                 f'corrupt ({size}): {first}') from None
        raise
    finally:
        HistoryBuffer._statistics_methods.clear()
        HistoryBuffer._statistics_methods.update(methods)


def load_from_local_safe(filename: str, map_location: Optional[Any] = None):
    """mmengine's local-file checkpoint loader, made safe (see module)."""
    return safe_torch_load(osp.expanduser(filename), map_location)


# ------------------------------------------------------------ atomic saves
def fsync_dir(path: str) -> None:
    """Flush a folder's entries (a rename in it) to disk, where the OS
    allows it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_replace(tmp_path: str, path: str) -> None:
    """Flush ``tmp_path`` to disk and rename it to ``path`` in one step.

    Readers see either the old ``path`` or the complete new one, never a
    part of it. Both must be in the same folder (same file system).

    Args:
        tmp_path (str): The finished temporary file.
        path (str): Its final name (replaced if it exists).
    """
    with open(tmp_path, 'rb') as f:
        os.fsync(f.fileno())
    os.replace(tmp_path, path)
    fsync_dir(osp.dirname(osp.abspath(path)))


def temporary_name(path: str) -> str:
    """The temporary file :func:`atomic_replace` renames to ``path``:
    hidden, in the same folder, tagged with the process id
    (``.epoch_2.pth.<pid>.tmp``)."""
    folder, name = osp.split(path)
    return osp.join(folder, f'.{name}.{os.getpid()}.tmp')


def write_text_atomic(path: str, text: str) -> None:
    """Write a small text file (``last_checkpoint``) atomically."""
    tmp = temporary_name(path)
    try:
        with open(tmp, 'w') as f:
            f.write(text)
        atomic_replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def register_safe_checkpoint_loader() -> None:
    """Make mmengine load local checkpoints with :func:`safe_torch_load`
    (called when ``mmdet_inbreast`` is imported)."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local_safe, force=True)


register_safe_checkpoint_loader()
