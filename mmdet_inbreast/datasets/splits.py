"""Patient-grouped, mass-stratified train/val/test splits and k folds."""
from __future__ import annotations

import os
import os.path as osp
from collections import defaultdict
from typing import Sequence

import numpy as np

from .release import ImageRecord


def _allocate(n: int, ratios: Sequence[float]) -> list[int]:
    """Split ``n`` items by ``ratios`` with the largest-remainder method."""
    r = np.asarray(ratios, dtype=np.float64)
    exact = n * r / r.sum()
    counts = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - counts), kind='stable')[:n - counts.sum()]:
        counts[i] += 1
    return counts.tolist()


def group_patients(records: Sequence[ImageRecord]) -> tuple[dict, dict]:
    """Patient -> image keys, and patient -> has at least one box."""
    images, positive = defaultdict(list), defaultdict(bool)
    for r in records:
        images[r.patient_id].append(r.file_name)
        positive[r.patient_id] |= bool(r.boxes)
    return dict(images), dict(positive)


def split_by_ratios(records: Sequence[ImageRecord],
                    ratios: Sequence[float],
                    seed: int = 0) -> list[list[str]]:
    """Split images into ``len(ratios)`` parts by patient.

    Patients (the DICOM file name's hash) never straddle parts. Patients
    with and without masses are shuffled (seeded) and allocated separately
    by the largest-remainder method, so every part gets its share of
    patients with masses.

    Args:
        records (Sequence[ImageRecord]): Images from
            :func:`~mmdet_inbreast.datasets.release.scan_release`.
        ratios (Sequence[float]): e.g. (0.7, 0.1, 0.2); normalised to sum 1.
        seed (int): Shuffle seed. Defaults to 0.

    Returns:
        list[list[str]]: Image keys of each part, in record order.
    """
    if len(ratios) < 1 or min(ratios) < 0 or sum(ratios) <= 0:
        raise ValueError(f'ratios must be >= 0 with a positive sum, got '
                         f'{list(ratios)}')
    images, positive = group_patients(records)
    rng = np.random.default_rng(seed)
    part_of = {}
    for flag in (True, False):
        patients = sorted(p for p in images if positive[p] == flag)
        rng.shuffle(patients)
        start = 0
        for part, count in enumerate(_allocate(len(patients), ratios)):
            for p in patients[start:start + count]:
                part_of[p] = part
            start += count
    parts: list[list[str]] = [[] for _ in ratios]
    for r in records:
        parts[part_of[r.patient_id]].append(r.file_name)
    return parts


def split_folds(records: Sequence[ImageRecord], folds: int,
                seed: int = 0) -> list[list[str]]:
    """Assign patients to ``folds`` folds, stratified by masses.

    Returns:
        list[list[str]]: Image keys of each fold (fold k is the held-out
        part of round k; its train part is the union of the others).
    """
    if folds < 2:
        raise ValueError(f'folds must be >= 2, got {folds}')
    return split_by_ratios(records, [1.0] * folds, seed)


def write_split(path: str, keys: Sequence[str], header: str = '') -> None:
    """Write keys one a line (``#`` header lines allowed)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        for line in header.splitlines():
            f.write(f'# {line}\n')
        for k in keys:
            f.write(f'{k}\n')


def describe_split(records: Sequence[ImageRecord],
                   keys: Sequence[str]) -> dict:
    """Images, patients, positive images and masses of a split."""
    chosen = set(keys)
    sel = [r for r in records if r.file_name in chosen]
    return dict(images=len(sel),
                patients=len({r.patient_id for r in sel}),
                positive_images=sum(1 for r in sel if r.boxes),
                masses=sum(len(r.boxes) for r in sel))
