"""Patient-grouped, mass-stratified, stable train/val/test splits and folds.

Every patient (the 16-hex hash of the DICOM file names) gets a number
``u`` in [0, 1) from ``sha256(seed, patient_id)``, and its part from where
``u`` falls among the cumulative ratios. A patient's part therefore depends
on its own id and the seed only: adding, removing or repairing another
patient's file never moves it. The price is that the parts' sizes follow
the ratios on average (a binomial draw), not to the patient; on a release
of INbreast's size (115 patients) that is a few patients either way.

Small releases get two deterministic repairs, applied only when needed:
every part with a positive ratio gets at least one patient, and at least
one patient with a mass (patients with masses first; when there are fewer
of them than parts, the largest parts get one). The patient moved is the one whose ``u`` lies nearest the
empty part; a repair can move a patient when another one is added or
removed, which is why it is kept to these degenerate cases.

A split file is ``<dir>/<name>.txt``: 8-digit image keys, one a line,
``#`` comments (:func:`write_split`, :func:`read_split_file`).
"""
from __future__ import annotations

import hashlib
import os
import os.path as osp
from collections import defaultdict
from typing import Sequence

import numpy as np

from ..utils.errors import InputError
from .inbreast_release.errors import ReleaseError
from .inbreast_release.scan import ImageRecord


def patient_u(patient_id: str, seed: int = 0, salt: str = 'part') -> float:
    """A patient's stable number in [0, 1): ``sha256('seed:salt:id')``.

    Args:
        patient_id (str): The patient hash.
        seed (int): The split seed. Defaults to 0.
        salt (str): Separates independent draws (``'part'``, ``'val'``).

    Returns:
        float: The first 8 bytes of the digest over 2**64.
    """
    digest = hashlib.sha256(f'{seed}:{salt}:{patient_id}'.encode()).digest()
    return int.from_bytes(digest[:8], 'big') / 2.0**64


def group_patients(records: Sequence[ImageRecord]) -> tuple[dict, dict]:
    """Patient -> image keys, and patient -> has at least one box."""
    images, positive = defaultdict(list), defaultdict(bool)
    for r in records:
        images[r.patient_id].append(r.file_name)
        positive[r.patient_id] |= bool(r.boxes)
    return dict(images), dict(positive)


def _check_ratios(ratios: Sequence[float]) -> np.ndarray:
    if len(ratios) < 1 or min(ratios) < 0 or sum(ratios) <= 0:
        raise ValueError(f'ratios must be >= 0 with a positive sum, got '
                         f'{list(ratios)}')
    r = np.asarray(ratios, dtype=np.float64)
    return r / r.sum()


def _fill_empty(part_of: dict, u: dict, members: list, ratios: np.ndarray,
                keep: list) -> None:
    """Give every part with a positive ratio at least one of ``members``
    (the largest parts first when there are fewer members than parts),
    moving the member whose ``u`` is nearest the empty part's interval out
    of a part that keeps one of ``members`` and one of each ``keep`` set it
    has."""
    edges = np.concatenate([[0.0], np.cumsum(ratios)])
    wanted = sorted((i for i, r in enumerate(ratios) if r > 0),
                    key=lambda i: (-ratios[i], i))[:len(members)]
    for part in wanted:
        count = defaultdict(int)
        for p in members:
            count[part_of[p]] += 1
        if count[part]:
            continue
        lo, hi = edges[part], edges[part + 1]

        def movable(p):
            src = part_of[p]
            if count[src] < 2:
                return False
            for group in keep:
                if p in group and sum(part_of[q] == src for q in group) < 2:
                    return False
            return True

        candidates = [p for p in members if movable(p)]
        if not candidates:
            continue
        best = min(candidates,
                   key=lambda p: (max(lo - u[p], u[p] - hi, 0.0), u[p], p))
        part_of[best] = part


def _assign(patients: Sequence[str], positive: dict, ratios: np.ndarray,
            seed: int, salt: str = 'part') -> dict:
    """Patient -> part index (see the module docstring)."""
    edges = np.cumsum(ratios)
    u = {p: patient_u(p, seed, salt) for p in patients}
    part_of = {p: min(int(np.searchsorted(edges, u[p], side='right')),
                      len(ratios) - 1) for p in patients}
    pos = sorted(p for p in patients if positive[p])
    _fill_empty(part_of, u, pos, ratios, keep=[])
    _fill_empty(part_of, u, sorted(patients), ratios, keep=[set(pos)])
    return part_of


def split_by_ratios(records: Sequence[ImageRecord],
                    ratios: Sequence[float],
                    seed: int = 0) -> list[list[str]]:
    """Split images into ``len(ratios)`` parts by patient, stably.

    Patients never straddle parts; a patient's part depends only on its id
    and ``seed`` (see the module docstring), so removing or adding another
    patient moves nobody else.

    Args:
        records (Sequence[ImageRecord]): Images from
            :func:`~mmdet_inbreast.datasets.inbreast_release.scan_release`.
        ratios (Sequence[float]): e.g. (0.7, 0.1, 0.2); normalised to sum 1.
        seed (int): Hash seed. Defaults to 0.

    Returns:
        list[list[str]]: Image keys of each part, in record order.
    """
    r = _check_ratios(ratios)
    images, positive = group_patients(records)
    part_of = _assign(sorted(images), positive, r, seed)
    parts: list[list[str]] = [[] for _ in ratios]
    for rec in records:
        parts[part_of[rec.patient_id]].append(rec.file_name)
    return parts


def split_folds(records: Sequence[ImageRecord], folds: int,
                seed: int = 0) -> list[list[str]]:
    """Assign patients to ``folds`` folds.

    Returns:
        list[list[str]]: Image keys of each fold (fold k is the held-out
        part of round k; its train part is the union of the others).
    """
    if folds < 2:
        raise ValueError(f'folds must be >= 2, got {folds}')
    return split_by_ratios(records, [1.0] * folds, seed)


def carve_val(records: Sequence[ImageRecord], keys: Sequence[str],
              val_fraction: float, seed: int = 0
              ) -> tuple[list[str], list[str]]:
    """Take about ``val_fraction`` of the patients of ``keys`` as a
    validation part, by patient and stably: the patients whose
    ``patient_u(patient, seed, 'val')`` is under ``val_fraction``.

    At least one patient goes to val (and one with a mass, when the
    patients of ``keys`` have masses), as long as train keeps one of each.

    Args:
        records (Sequence[ImageRecord]): The scan's records.
        keys (Sequence[str]): Image keys of the training part.
        val_fraction (float): In [0, 1).
        seed (int): Hash seed. Defaults to 0.

    Returns:
        tuple[list[str], list[str]]: (train keys, val keys), record order.
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f'val_fraction must be in [0, 1), got {val_fraction}')
    chosen = set(keys)
    sel = [r for r in records if r.file_name in chosen]
    images, positive = group_patients(sel)
    if val_fraction == 0:
        return [r.file_name for r in sel], []
    # Part 0 is val: a patient goes to val when its 'val' number is under
    # val_fraction, so a larger fraction only adds patients to val.
    ratios = np.array([val_fraction, 1 - val_fraction])
    part_of = _assign(sorted(images), positive, ratios, seed, salt='val')
    train = [r.file_name for r in sel if part_of[r.patient_id] == 1]
    val = [r.file_name for r in sel if part_of[r.patient_id] == 0]
    return train, val


def make_folds(records: Sequence[ImageRecord], k: int, seed: int = 0,
               val_fraction: float = 0.125) -> list[dict[str, list[str]]]:
    """K folds, each with train, val and test image keys.

    Fold ``i``'s test part is the ``i``-th part of :func:`split_folds`
    (every image is in exactly one fold's test part); its val part is
    carved by patient from the other folds' patients with
    :func:`carve_val`. Patients never straddle parts.

    Args:
        records (Sequence[ImageRecord]): The scan's records.
        k (int): Number of folds (>= 2).
        seed (int): Hash seed. Defaults to 0.
        val_fraction (float): Share of each fold's training patients that
            go to val. Defaults to 0.125.

    Returns:
        list[dict[str, list[str]]]: One dict per fold with keys
        ``'train'``, ``'val'``, ``'test'``.
    """
    tests = split_folds(records, k, seed)
    folds = []
    for i, test in enumerate(tests):
        rest = [key for j, t in enumerate(tests) if j != i for key in t]
        train, val = carve_val(records, rest, val_fraction, seed)
        folds.append(dict(train=train, val=val, test=list(test)))
    return folds


def read_split_file(path: str) -> list[str]:
    """Read an INbreast split file: 8-digit keys, one a line; blank lines
    and ``#`` comments are ignored (:func:`~mmdet_inbreast.datasets.
    records.read_key_file` with INbreast's key pattern).

    Raises:
        FileNotFoundError: If the file does not exist.
        ReleaseError: If a line is not an 8-digit key, a key repeats, or the
            split is empty.
    """
    from .records import read_key_file
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path}: split file not found; write it with '
            'tools/split_patients.py or set ann_file=None for all images')
    try:
        return read_key_file(path, r'\d{8}', '8-digit image key',
                             'write it with tools/split_patients.py')
    except InputError as e:
        raise ReleaseError(str(e)) from None


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
