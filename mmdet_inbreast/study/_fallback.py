"""Stand-ins for ``datasets.stats.compute_split_stats`` and
``datasets.splits.make_folds`` with the same contracts, used by
:mod:`.folds` only while those functions are missing from the package.
Delete this module once both exist there."""
from __future__ import annotations

import hashlib
import json
import os.path as osp
from typing import Callable, Optional, Sequence

import numpy as np


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def compute_split_stats(data_root: str, split: str,
                        progress: Optional[Callable] = None
                        ) -> tuple[str, dict]:
    """Zero-ignoring statistics of a split, written beside it as
    ``<split>.stats.json`` (see ``datasets.stats``)."""
    from ..datasets.release import read_split_file, scan_release
    from ..datasets.stats import nonzero_stats
    from ..datasets.transforms.loading import read_dicom_pixels

    path = split if osp.isabs(split) else osp.join(data_root, split)
    keys = read_split_file(path)
    records, _ = scan_release(data_root, keys=keys, strict=True)
    stats = nonzero_stats((read_dicom_pixels(r.img_path)[0]
                           for r in records), progress=progress)
    stats.update(split_file=split, split_sha256=_sha256(path),
                 command=f'python tools/compute_stats.py "{data_root}" '
                 f'--split {split}', skipped=[])
    out = osp.splitext(path)[0] + '.stats.json'
    with open(out, 'w') as f:
        json.dump(stats, f, indent=2)
    return out, stats


def make_folds(records: Sequence, k: int, seed: int = 0,
               val_fraction: float = 0.125) -> list[dict[str, list[str]]]:
    """K patient-grouped, mass-stratified folds with a val part carved by
    patient from each fold's training patients (see ``datasets.splits``)."""
    from ..datasets.splits import group_patients, split_folds
    if not 0 <= val_fraction < 1:
        raise ValueError(f'val_fraction must be in [0, 1), got '
                         f'{val_fraction}')
    tests = split_folds(records, k, seed)
    images, positive = group_patients(records)
    patient_of = {r.file_name: r.patient_id for r in records}
    order = [r.file_name for r in records]
    folds = []
    for i, test in enumerate(tests):
        test_patients = {patient_of[key] for key in test}
        rest = sorted(p for p in images if p not in test_patients)
        rng = np.random.default_rng([seed, i])
        val_patients = set()
        for flag in (True, False):
            group = [p for p in rest if positive[p] == flag]
            rng.shuffle(group)
            n = int(round(val_fraction * len(group)))
            if flag and group and val_fraction > 0:
                n = max(n, 1)
            val_patients.update(group[:n])
        val = [key for key in order if patient_of[key] in val_patients]
        train = [key for key in order if patient_of[key] not in val_patients
                 and patient_of[key] not in test_patients]
        folds.append(dict(train=train, val=val, test=list(test)))
    return folds
