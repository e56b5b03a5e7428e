"""Exact, streaming mean and std of the non-zero pixels of a set of images,
and the statistics files that live beside their split.

A split ``<dir>/<name>.txt`` has its statistics in ``<dir>/<name>.stats.json``
(:func:`stats_path_for_split`). The JSON records the sha256 of the split
file's bytes, so that a training run can tell whether its statistics were
computed on its own training split (:func:`check_stats_split`).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import os.path as osp
from typing import Callable, Iterable, Optional, Sequence

import numpy as np

from ..utils.errors import InputError

#: Suffix of a statistics file: ``<dir>/<name>.stats.json`` for
#: ``<dir>/<name>.txt``.
STATS_SUFFIX = '.stats.json'


def nonzero_moments(img: np.ndarray) -> tuple[int, float, float]:
    """Count, sum and sum of squares of the non-zero pixels of one image.

    Integer images are summed exactly in int64 (a 14-bit 4084 x 3328 image
    sums to at most 2.2e11, its squares to 3.7e15, far below 2**63);
    float images in float64.

    Args:
        img (np.ndarray): Pixels of any shape.

    Returns:
        tuple[int, float | int, float | int]: (n, sum, sum of squares).
    """
    vals = img[img != 0]
    if vals.dtype.kind in 'ui':
        v = vals.astype(np.int64)
        return int(v.size), int(v.sum()), int(np.dot(v, v))
    v = vals.astype(np.float64)
    return int(v.size), float(v.sum()), float(np.dot(v, v))


def nonzero_stats(images: Iterable[np.ndarray],
                  progress: Optional[Callable[[Iterable], Iterable]] = None
                  ) -> dict:
    """Mean and (population) std of the non-zero pixels of ``images``.

    Streaming: one image in memory at a time. With integer images the sums
    are Python integers, so the result is exact whatever the number of
    images (no float cancellation in ``E[x^2] - E[x]^2``).

    Args:
        images (Iterable[np.ndarray]): Images (any shape, 0 = background).
        progress (callable, optional): Wraps the iterable (e.g. ``tqdm``).

    Returns:
        dict: ``mean``, ``std``, ``num_pixels`` (non-zero), ``num_images``.

    Raises:
        ValueError: If no non-zero pixel is found.
    """
    n = total = total_sq = 0
    count = 0
    for img in (progress(images) if progress else images):
        k, s, sq = nonzero_moments(img)
        n, total, total_sq, count = n + k, total + s, total_sq + sq, count + 1
    if n == 0:
        raise ValueError(f'no non-zero pixel in {count} image(s); are the '
                         'images empty or all background?')
    if isinstance(total, int) and isinstance(total_sq, int):
        from fractions import Fraction
        mean = Fraction(total, n)
        var = Fraction(total_sq, n) - mean * mean
        mean_f, std_f = float(mean), math.sqrt(float(var))
    else:
        mean_f = total / n
        std_f = math.sqrt(max(total_sq / n - mean_f * mean_f, 0.0))
    return dict(mean=mean_f, std=std_f, num_pixels=int(n), num_images=count)


# ------------------------------------------------------- statistics files
def stats_path_for_split(split_path: str) -> str:
    """The statistics file that belongs to a split file.

    Args:
        split_path (str): ``<dir>/<name>.txt`` (any extension).

    Returns:
        str: ``<dir>/<name>.stats.json``.

    Example:
        >>> stats_path_for_split('splits/ratio8-2/train.txt')
        'splits/ratio8-2/train.stats.json'
    """
    return osp.splitext(split_path)[0] + STATS_SUFFIX


def file_sha256(path: str) -> str:
    """sha256 (hex) of a file's bytes.

    Args:
        path (str): The file.

    Returns:
        str: 64 hex digits.
    """
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def _find_release(path: str) -> Optional[str]:
    """The nearest folder above ``path`` that holds ``INbreast.csv``."""
    folder = osp.dirname(osp.abspath(path))
    while True:
        if osp.isfile(osp.join(folder, 'INbreast.csv')):
            return folder
        parent = osp.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def rewrite_command(data_root: Optional[str], split: str) -> str:
    """The command that (re)writes the statistics of ``split``.

    Args:
        data_root (str, optional): The release folder; ``DATA_ROOT`` when
            unknown.
        split (str): The split file, relative to ``data_root`` or absolute.

    Returns:
        str: ``python tools/compute_stats.py "<data_root>" --split <split>``.
    """
    root = data_root.rstrip('/\\') if data_root else 'DATA_ROOT'
    return f'python tools/compute_stats.py "{root}" --split {split}'


def _command_for_stats(stats_path: str) -> str:
    """Best rewrite command for a statistics file that may be unreadable:
    the split beside it, relative to the release above it when there is
    one."""
    stem = stats_path[:-len(STATS_SUFFIX)] if stats_path.endswith(
        STATS_SUFFIX) else osp.join(osp.dirname(stats_path), 'train')
    split = stem + '.txt'
    root = _find_release(stats_path)
    if root is not None:
        split = osp.relpath(osp.abspath(split), root)
    return rewrite_command(root, split)


def compute_split_stats(data_root: str, split: str,
                        progress: Optional[Callable[[Iterable], Iterable]]
                        = None) -> tuple[str, dict]:
    """Zero-ignoring statistics of a split, written beside the split.

    One shared scan (:func:`~mmdet_inbreast.datasets.inbreast_release.
    scan_release` and ``iter_pixels``; for a VinDr-Mammo release, found by
    its ``breast-level_annotations.csv``, the VinDr scan and the split's
    image_ids): images the scan cannot use (no
    DICOM, broken header) and images whose pixels cannot be decoded are
    skipped, counted and listed under ``skipped`` with the reason; the
    scan's summary line and the skipped images are printed. The only file
    written is :func:`stats_path_for_split` of ``split``.

    Args:
        data_root (str): The release folder.
        split (str): Split file, relative to ``data_root`` or absolute.
        progress (callable, optional): Wraps the list of records (e.g.
            ``tqdm``). Defaults to None.

    Returns:
        tuple[str, dict]: The JSON path and its content: ``mean``, ``std``,
        ``num_pixels``, ``num_images``, ``split_file`` (as given),
        ``split_sha256``, ``command``, ``skipped`` (list of
        ``{'file', 'reason'}``).

    Raises:
        InputError: The split file is missing or broken, or no image of it
            has a non-zero pixel.
    """
    from .records import format_summary, read_key_file
    from .inbreast_release import format_report, iter_pixels, scan_release
    from .splits import read_split_file
    from .vindr_release import VINDR_KEY_RE
    from .vindr_release.splits import is_vindr_layout

    split_path = split if osp.isabs(split) else osp.join(data_root, split)
    if not osp.isfile(split_path):
        raise InputError(
            f'{split_path}: split file not found; write it with python '
            f'tools/split_patients.py "{data_root}"')
    vindr = is_vindr_layout(data_root)
    if vindr:
        keys = read_key_file(
            split_path, VINDR_KEY_RE, 'image_id',
            'write it with tools/split_patients.py (one image_id a line)')
        records, report = _vindr_split_records(data_root, keys)
    else:
        keys = read_split_file(split_path)
        records, report = scan_release(data_root, keys=keys)
    pixels = (img for _, img in iter_pixels(records, report,
                                            progress=progress))
    try:
        stats = nonzero_stats(pixels)
    except ValueError as e:
        raise InputError(f'{split_path}: {e}; {report.num_skipped} image(s) '
                         'of the split could not be read') from None
    # The one summary line every tool prints, then the skipped images.
    summary = (format_summary(records, report, ('mass', ), 'studies',
                              max_problems=0)
               if vindr else format_report(records, report))
    print(f'scan: {summary.splitlines()[0]}')
    skipped = [dict(file=key, reason=report.errors.get(key, reason))
               for reason, names in report.skipped.items() for key in names]
    if skipped:
        print(f'skipped {len(skipped)} image(s) of {split_path}: ' +
              '; '.join(f"{s['file']} ({s['reason']})" for s in skipped))
    stats.update(
        split_file=split,
        split_sha256=file_sha256(split_path),
        command=rewrite_command(data_root, split),
        skipped=skipped)
    out = stats_path_for_split(split_path)
    tmp = out + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(stats, f, indent=2)
    os.replace(tmp, out)
    return out, stats


def _vindr_split_records(data_root: str, keys: Sequence[str]):
    """The VinDr-Mammo records of ``keys`` (image_ids) and the scan's
    report; keys the release does not hold are skipped."""
    from .vindr_release.splits import scan_vindr_for_splits
    records, report = scan_vindr_for_splits(data_root, None)
    by_key = {r.file_name: r for r in records}
    for key in keys:
        if key not in by_key:
            report.skip('not in the release', key)
    report.listed = len(keys)
    return [by_key[k] for k in keys if k in by_key], report


def load_stats(path: str) -> dict:
    """Read and validate a statistics file.

    Args:
        path (str): The JSON written by :func:`compute_split_stats`.

    Returns:
        dict: Its content; ``mean`` and ``std`` are finite floats, std > 0.

    Raises:
        InputError: The file is missing, not JSON (e.g. truncated), not an
            object, or its mean/std is missing, not a number, not finite,
            or (std) not above 0. The message names the file, the problem
            and the command that rewrites it.
    """

    def bad(problem: str) -> InputError:
        return InputError(f'{path}: {problem}; rewrite it with '
                          f'{_command_for_stats(path)}')

    if not osp.isfile(path):
        raise bad('statistics file not found')
    try:
        with open(path) as f:
            stats = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise bad(f'not valid JSON ({e}); the file is truncated or '
                  'damaged') from None
    if not isinstance(stats, dict):
        raise bad(f'expected a JSON object with mean and std, got a '
                  f'{type(stats).__name__}')
    for key in ('mean', 'std'):
        value = stats.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad(f'{key} is {value!r}, not a number')
        if not math.isfinite(value):
            raise bad(f'{key} is {value}, not a finite number')
    if not stats['std'] > 0:
        raise bad(f"std is {stats['std']}, not above 0")
    stats['mean'], stats['std'] = float(stats['mean']), float(stats['std'])
    return stats


def check_stats_split(stats_path: str, split_path: str) -> None:
    """Stop unless ``stats_path`` was computed on ``split_path``.

    The statistics belong to the split when their recorded
    ``split_sha256`` equals the sha256 of the split file now (the same
    images, and the split not edited since).

    Args:
        stats_path (str): The statistics a run normalises with.
        split_path (str): The run's training split file.

    Raises:
        InputError: The statistics carry no split hash (written by an older
            tool) or were computed on another split (or before the split
            was rewritten). The message names both files and the command
            that writes the split's own statistics.
    """
    stats = load_stats(stats_path)
    own = stats_path_for_split(split_path)
    root = _find_release(split_path)
    split_arg = osp.relpath(osp.abspath(split_path), root) if root \
        else split_path
    fix = rewrite_command(root, split_arg)
    if osp.abspath(own) != osp.abspath(stats_path):
        fix += f' and normalise with {own} (stats_file=... or --stats-file)'
    recorded = stats.get('split_sha256')
    if not recorded:
        raise InputError(
            f'{stats_path}: records no split hash, so it cannot be shown to '
            f'come from the training split {split_path}; write the '
            f'statistics with {fix}')
    if not osp.isfile(split_path):
        raise InputError(f'{split_path}: training split not found; write it '
                         'with tools/split_patients.py')
    if recorded != file_sha256(split_path):
        where = stats.get('split_file', 'another split')
        raise InputError(
            f'{stats_path}: computed on {where}, not on the training split '
            f'{split_path} (sha256 differs: another split, or the split was '
            f'rewritten since); write the statistics with {fix}')
