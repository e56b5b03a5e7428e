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
in ``cache_dir`` (``.<key>.npy.*.tmp``) and renamed (``os.replace``, atomic
on POSIX), so that a data loader never maps a half-written file. A run that
is killed can leave such temporary files behind; the next run removes them
first (so two runs must not write into one ``cache_dir`` at the same time).

Which images are cached is decided by the one scan of the release
(:func:`~mmdet_inbreast.datasets.inbreast_release.scan_release`): files the
scan refuses are not cached, and a file that fails to decode is skipped and
named in the report, never the end of the run. Worker processes end with
the parent: a ``multiprocessing.Pool`` in a context manager (terminated on
any exit, SIGTERM included), and on Linux each worker asks the kernel for
SIGTERM when its parent dies (``PR_SET_PDEATHSIG``), which covers a parent
killed with SIGKILL.
"""
from __future__ import annotations

import glob
import multiprocessing
import os
import os.path as osp
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Optional

import numpy as np

from .dicom import DicomError, read_dicom_pixels
from .inbreast_release import ReleaseError, ScanReport, scan_release
from .splits import read_split_file

#: What :func:`cache_one` did with an image.
WRITTEN, UP_TO_DATE, FAILED = 'written', 'up to date', 'failed'


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
        failed (dict[str, str]): Key -> error of images that did not
            decode (skipped, not cached).
        stale_tmp (list[str]): Temporary files of an earlier, killed run
            that were removed.
    """
    cache_dir: str
    written: list = field(default_factory=list)
    up_to_date: list = field(default_factory=list)
    bytes_written: int = 0
    dtypes: set = field(default_factory=set)
    failed: dict = field(default_factory=dict)
    stale_tmp: list = field(default_factory=list)


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
    """:func:`cache_one`, with a file that does not decode reported as
    :data:`FAILED` (its error in the last field) instead of raised."""
    try:
        return cache_one(*args)
    except (DicomError, FileNotFoundError) as e:
        return args[0], FAILED, 0, str(e)


def remove_stale_tmp(cache_dir: str) -> list[str]:
    """Remove the temporary files (``.*.npy.*.tmp``) a killed run left.

    Args:
        cache_dir (str): The cache folder.

    Returns:
        list[str]: The removed file names, sorted.
    """
    removed = []
    for path in sorted(glob.glob(osp.join(glob.escape(cache_dir),
                                          '.*.npy.*.tmp'))):
        try:
            os.remove(path)
        except FileNotFoundError:
            continue
        removed.append(osp.basename(path))
    return removed


def _watch_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(0.5)


def _worker_init(parent: int) -> None:
    """Make a pool worker end with its parent.

    On Linux the kernel sends SIGTERM when the parent dies (even by
    SIGKILL); elsewhere a daemon thread polls the parent's pid. SIGINT is
    ignored: the parent handles Ctrl-C and terminates the pool.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent, ),
                     daemon=True).start()


def _raise_terminated(signum, frame):
    """SIGTERM in the parent: unwind (the pool terminates its workers) and
    exit with the shell's status for a signal."""
    raise SystemExit(128 + signum)


def release_dicoms(data_root: str, split: Optional[str] = None
                   ) -> tuple[dict[str, str], list, ScanReport]:
    """The DICOMs of a release (or of a split) that pass the scan.

    Args:
        data_root (str): The release folder.
        split (str, optional): A split file (relative to ``data_root``
            unless absolute); only its keys are scanned. Defaults to None:
            every image of the CSV.

    Returns:
        tuple: (key -> DICOM path in CSV or split order, the scan's records,
        the scan's report naming what was skipped).

    Raises:
        ReleaseError: ``data_root`` is not a folder, or a key of the split
            is not in the CSV.
        FileNotFoundError: No ``INbreast.csv`` there, or a missing split
            file.
    """
    if not osp.isdir(data_root):
        raise ReleaseError(f'{data_root}: not a folder; give the release '
                           'folder (the one that holds INbreast.csv)')
    keys = None
    if split is not None:
        split_path = split if osp.isabs(split) else osp.join(data_root, split)
        keys = read_split_file(split_path)
    records, report = scan_release(data_root, keys=keys)
    return {r.file_name: r.img_path for r in records}, records, report


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
        CacheReport: Keys written, left alone and failed, bytes, dtypes,
        removed temporary files.

    Raises:
        ValueError: If ``workers`` is negative.
    """
    if workers < 0:
        raise ValueError(f'workers={workers}; use 0 (this process) or more')
    os.makedirs(cache_dir, exist_ok=True)
    report = CacheReport(cache_dir=cache_dir)
    report.stale_tmp = remove_stale_tmp(cache_dir)
    jobs = [(k, p, cache_dir, force) for k, p in dicoms.items()]
    wrap = progress or (lambda it: it)
    if workers == 0 or len(jobs) <= 1:
        _collect(wrap(map(_cache_one_star, jobs)), report)
        return report
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) \
        if in_main else None
    try:
        # Pool.__exit__ terminates the workers, on success and on any
        # exception (Ctrl-C, SIGTERM as SystemExit) alike.
        with multiprocessing.Pool(workers, initializer=_worker_init,
                                  initargs=(os.getpid(), )) as pool:
            _collect(wrap(pool.imap(_cache_one_star, jobs, chunksize=1)),
                     report)
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
    return report


def _collect(results: Iterable, report: CacheReport) -> None:
    for key, status, size, detail in results:
        if status == WRITTEN:
            report.written.append(key)
            report.bytes_written += size
            report.dtypes.add(detail)
        elif status == FAILED:
            report.failed[key] = detail
        else:
            report.up_to_date.append(key)
