"""Decoded-image cache: each DICOM decoded once to a ``.npy`` memory map.

Decoding a 3328 x 4084 INbreast DICOM (pydicom, uncompressed 16-bit) costs
tens of milliseconds and a full copy of the image on every sample;
``np.load(..., mmap_mode='r')`` of the same pixels costs well under a
millisecond, and the crop that follows reads only the pages it touches.
:func:`cache_images` writes ``<cache_dir>/<file_name>.npy`` for each image
(``tools/cache_images.py`` is its command line); :class:`LoadDicomImage`
with ``cache_dir`` maps that file instead of decoding when it exists.

Contract of a cache file: ``np.save`` of exactly what
:func:`~mmdet_inbreast.datasets.transforms.loading.read_dicom_pixels`
returns with ``apply_voi_lut=False``: (H, W), ``uint16`` for INbreast
(slope 1, intercept 0, unsigned; 0 is background), ``float32`` only for
files that need a rescale. ``LoadDicomImage`` with ``apply_voi_lut=True``
ignores the cache.

A cache file is up to date when its modification time is later than the
DICOM's; an older one is rewritten. Files are written to a temporary name
in ``cache_dir`` and renamed (``os.replace``, atomic on POSIX), so that a
data loader never maps a half-written file and an interrupted run leaves
no truncated cache behind.
"""
from __future__ import annotations

import os
import os.path as osp
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Optional, Sequence

import numpy as np

from .release import list_dicoms, read_split_file
from .transforms.loading import read_dicom_pixels

#: What :func:`cache_one` did with an image.
WRITTEN, UP_TO_DATE = 'written', 'up to date'


@dataclass
class CacheReport:
    """What :func:`cache_images` did.

    Attributes:
        cache_dir (str): The cache folder.
        written (list[str]): Keys decoded and written (new or stale).
        up_to_date (list[str]): Keys whose cache file was newer than the
            DICOM and was left alone.
        bytes_written (int): Size of the written ``.npy`` files.
        dtypes (set[str]): Dtypes of the written arrays (``{'uint16'}`` for
            INbreast).
    """
    cache_dir: str
    written: list = field(default_factory=list)
    up_to_date: list = field(default_factory=list)
    bytes_written: int = 0
    dtypes: set = field(default_factory=set)


def cache_path(cache_dir: str, file_name: str) -> str:
    """``<cache_dir>/<file_name>.npy``: where the cache of an image lives
    (the name :class:`LoadDicomImage` looks for)."""
    return osp.join(cache_dir, f'{file_name}.npy')


def is_up_to_date(dicom_path: str, npy_path: str) -> bool:
    """Whether ``npy_path`` exists and was modified after ``dicom_path``.

    Compares ``st_mtime_ns``; a cache file with the same timestamp as the
    DICOM counts as stale (rewriting costs one decode, a stale cache would
    feed wrong pixels).
    """
    if not osp.isfile(npy_path):
        return False
    return os.stat(npy_path).st_mtime_ns > os.stat(dicom_path).st_mtime_ns


def write_npy_atomic(path: str, array: np.ndarray) -> int:
    """``np.save(path, array)`` through a temporary file and a rename.

    Args:
        path (str): Destination ``.npy``; its folder must exist.
        array (np.ndarray): What to save.

    Returns:
        int: Bytes written.
    """
    folder = osp.dirname(osp.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(path)}.',
                               suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            np.save(f, array, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    return os.stat(path).st_size


def cache_one(file_name: str, dicom_path: str, cache_dir: str,
              force: bool = False) -> tuple[str, str, int, str]:
    """Decode one DICOM into ``<cache_dir>/<file_name>.npy`` unless the
    cache file is up to date.

    Args:
        file_name (str): The image key (8 digits for INbreast).
        dicom_path (str): The DICOM file.
        cache_dir (str): The cache folder (must exist).
        force (bool): Rewrite even an up-to-date file. Defaults to False.

    Returns:
        tuple[str, str, int, str]: (key, :data:`WRITTEN` or
        :data:`UP_TO_DATE`, bytes written, dtype name or '').
    """
    out = cache_path(cache_dir, file_name)
    if not force and is_up_to_date(dicom_path, out):
        return file_name, UP_TO_DATE, 0, ''
    pixels, _ = read_dicom_pixels(dicom_path, apply_voi_lut=False)
    size = write_npy_atomic(out, np.ascontiguousarray(pixels))
    return file_name, WRITTEN, size, str(pixels.dtype)


def _cache_one_star(args: tuple) -> tuple[str, str, int, str]:
    return cache_one(*args)


def release_dicoms(data_root: str,
                   split: Optional[str] = None) -> dict[str, str]:
    """The DICOMs of a release (or of a split), by image key.

    Args:
        data_root (str): The release folder (with ``AllDICOMs/``).
        split (str, optional): A split file (relative to ``data_root``
            unless absolute); only its keys are returned. Defaults to None:
            every DICOM of ``AllDICOMs/``.

    Returns:
        dict[str, str]: Key -> DICOM path, sorted by key.

    Raises:
        FileNotFoundError: No ``AllDICOMs/`` folder, a missing split file, or
            a key of the split without a DICOM.
    """
    dicoms, _ = list_dicoms(osp.join(data_root, 'AllDICOMs'))
    if split is None:
        keys: Sequence[str] = sorted(dicoms)
    else:
        split_path = split if osp.isabs(split) else osp.join(data_root, split)
        keys = read_split_file(split_path)
        missing = [k for k in keys if k not in dicoms]
        if missing:
            raise FileNotFoundError(
                f'{split_path}: {len(missing)} key(s) without a DICOM in '
                f'{osp.join(data_root, "AllDICOMs")} (first: {missing[0]}); '
                'is the split from another release?')
    return {k: dicoms[k].path for k in keys}


def cache_images(dicoms: Mapping[str, str],
                 cache_dir: str,
                 workers: int = 0,
                 force: bool = False,
                 progress: Optional[Callable[[Iterable], Iterable]] = None
                 ) -> CacheReport:
    """Decode each DICOM once into ``<cache_dir>/<key>.npy``.

    Args:
        dicoms (Mapping[str, str]): Key -> DICOM path (see
            :func:`release_dicoms`).
        cache_dir (str): Output folder; created if needed.
        workers (int): Decoding processes; 0 decodes in this process.
            Defaults to 0.
        force (bool): Rewrite up-to-date files too. Defaults to False.
        progress (callable, optional): Wraps the iterator of finished images
            (e.g. ``functools.partial(tqdm, total=len(dicoms))``).

    Returns:
        CacheReport: Keys written and left alone, bytes, dtypes.

    Raises:
        ValueError: If ``workers`` is negative.
    """
    if workers < 0:
        raise ValueError(f'workers={workers}; use 0 (this process) or more')
    os.makedirs(cache_dir, exist_ok=True)
    jobs = [(k, p, cache_dir, force) for k, p in dicoms.items()]
    report = CacheReport(cache_dir=cache_dir)
    wrap = progress or (lambda it: it)
    if workers == 0 or len(jobs) <= 1:
        results: Iterable = wrap(map(_cache_one_star, jobs))
        _collect(results, report)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            _collect(wrap(pool.map(_cache_one_star, jobs, chunksize=1)),
                     report)
    return report


def _collect(results: Iterable, report: CacheReport) -> None:
    for key, status, size, dtype in results:
        if status == WRITTEN:
            report.written.append(key)
            report.bytes_written += size
            report.dtypes.add(dtype)
        else:
            report.up_to_date.append(key)
