"""Study-grouped splits and statistics of a VinDr-Mammo release.

``split_patients`` for VinDr-Mammo: the patient key is the ``study_id``
(one study is one woman's exam), and splits are carved from the official
``training`` split so that the official ``test`` split stays untouched.
"""
from __future__ import annotations

import os.path as osp
from typing import Sequence

from ..records import MammoRecord, ScanReport
from ..splits import split_by_ratios, write_split
from ..stats import compute_split_stats
from .csv import BREAST_CSV, VinDrReleaseError
from .scan import scan_vindr


def is_vindr_layout(data_root: str) -> bool:
    """Whether ``data_root`` holds a VinDr-Mammo release (its
    ``breast-level_annotations.csv``)."""
    return osp.isfile(osp.join(data_root, BREAST_CSV))


def vindr_records(data_root: str, split: str | None = 'training',
                  classes: Sequence[str] = ('mass', )
                  ) -> list[MammoRecord]:
    """The usable images of the release (of one official split), as
    records that :func:`~mmdet_inbreast.datasets.splits.split_by_ratios`
    and ``make_folds`` group by ``patient_id`` (= ``study_id``) and
    stratify by ``boxes``."""
    return scan_vindr_for_splits(data_root, split, classes)[0]


def scan_vindr_for_splits(data_root: str, split: str | None = 'training',
                          classes: Sequence[str] = ('mass', )
                          ) -> tuple[list[MammoRecord], ScanReport]:
    """:func:`vindr_records` with the scan's report (what was left out and
    why), for tools that print it.

    Args:
        data_root (str): The release folder.
        split (str, optional): Official ``split`` value to read
            (``'training'``, ``'test'``); None reads every image.
            Defaults to ``'training'``.
        classes (Sequence[str]): Classes whose boxes stratify the split.
            Defaults to ``('mass',)``.

    Returns:
        tuple[list[MammoRecord], ScanReport]: The records (``patient_id``
        is the ``study_id``) and the report.
    """
    report = ScanReport(error_type=VinDrReleaseError)
    return scan_vindr(data_root, classes, report, split=split), report


def write_vindr_splits_and_stats(data_root: str,
                                 ratios: Sequence[float] = (0.8, 0.2),
                                 names: Sequence[str] = ('train', 'val'),
                                 seed: int = 0,
                                 split: str | None = 'training',
                                 progress=None) -> dict[str, list[str]]:
    """Write ``splits/<name>.txt`` for each part (image_ids, grouped by
    study, stratified by masses, carved from the official ``split``) and
    ``splits/<names[0]>.stats.json`` (non-zero pixel mean/std of the first
    part, with ``split_file`` and ``split_sha256``).

    Args:
        data_root (str): The release folder.
        ratios (Sequence[float]): Part sizes. Defaults to (0.8, 0.2).
        names (Sequence[str]): Part names. Defaults to ('train', 'val').
        seed (int): Split seed. Defaults to 0.
        split (str, optional): Official split to carve from. Defaults to
            'training'.
        progress (callable, optional): Wraps the image iterable (tqdm).

    Returns:
        dict[str, list[str]]: Name -> image_ids.
    """
    if len(ratios) != len(names):
        raise ValueError(f'{len(ratios)} ratios for {len(names)} names')
    records = vindr_records(data_root, split)
    parts = split_by_ratios(records, ratios, seed=seed)
    out = {}
    header = (f'VinDr-Mammo {split or "all"} split, grouped by study_id, '
              f'ratios {" ".join(map(str, ratios))}, seed {seed}')
    for name, keys in zip(names, parts):
        write_split(osp.join(data_root, 'splits', f'{name}.txt'), keys,
                    header)
        out[name] = keys
    compute_split_stats(data_root, osp.join('splits', f'{names[0]}.txt'),
                        progress=progress)
    return out
