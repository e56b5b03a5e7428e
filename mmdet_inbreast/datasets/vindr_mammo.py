"""VinDrMammoDataset: the VinDr-Mammo release, read as it ships."""
from __future__ import annotations

import os.path as osp

from mmdet.registry import DATASETS

from .base_mammo import BaseMammoDataset
from .records import MammoRecord, ScanReport, read_key_file
from .vindr_release import (BREAST_CSV, VINDR_KEY_RE, VinDrReleaseError,
                            parse_classes, scan_vindr)


@DATASETS.register_module()
class VinDrMammoDataset(BaseMammoDataset):
    """VinDr-Mammo 1.0.0 (Nguyen et al., Scientific Data 10, 2023): 5,000
    four-view studies, boxes for the non-benign findings.

    Reads ``breast-level_annotations.csv``, ``finding_annotations.csv`` and
    ``images/<study_id>/<image_id>.dicom`` under ``data_root`` as the
    release ships them (see :mod:`~mmdet_inbreast.datasets.vindr_release`).
    The dataset is built from the CSVs alone (their ``height``/``width``):
    no DICOM is opened, so 20,000 images build in seconds. The header is
    compared with the CSV the first time an image is loaded, and for all
    images by :meth:`verify` (``tools/verify_vindr.py``).

    ``classes`` are chosen from the ten finding classes
    (:data:`~mmdet_inbreast.datasets.vindr_release.CATEGORY_CLASSES`:
    ``'mass'``, ``'suspicious_calcification'``, ``'asymmetry'``,
    ``'focal_asymmetry'``, ``'global_asymmetry'``,
    ``'architectural_distortion'``, ``'skin_thickening'``,
    ``'skin_retraction'``, ``'nipple_retraction'``,
    ``'suspicious_lymph_node'``), optionally prefixed ``benign_`` /
    ``malignant_`` to split them by ``finding_birads`` (``malignancy``). A
    box with several categories counts for each selected class. Images
    without a box of a selected class are negatives and are kept.

    ``patient_id`` is the ``study_id`` (the release has no patient id;
    one study is one woman's exam), so grouped splits group studies. Data
    infos also carry ``study_id``, ``series_id`` and the official ``split``.

    Args:
        ann_file (str, optional): A split file of image_ids (one a line,
            ``#`` comments), relative to ``data_root`` unless absolute.
            Defaults to '' (all images).
        split (str, optional): Keep the rows whose official ``split``
            column is this value: ``'training'`` or ``'test'``. Not
            together with ``ann_file``. Defaults to None.
        metainfo (dict, optional): ``classes``, default ``('mass',)``.
        strict (bool): Raise :class:`VinDrReleaseError` on the first
            problem. Defaults to False (skip, report one line each).
        malignancy (dict, optional): BI-RADS -> malignancy rule.
        **kwargs: Passed to :class:`BaseMammoDataset`.

    Example:
        >>> ds = VinDrMammoDataset(data_root='data/vindr-mammo/',
        ...                        split='training',
        ...                        metainfo=dict(classes=('benign_mass',
        ...                                               'malignant_mass')))
    """

    METAINFO = dict(classes=('mass', ), palette=[(220, 20, 60)])
    patient_word = 'studies'
    error_type = VinDrReleaseError

    def __init__(self, *args, split: str | None = None, **kwargs) -> None:
        self.split = split
        super().__init__(*args, **kwargs)

    def check_door(self) -> None:
        """The release folder holds the breast-level CSV; the classes are
        finding classes; ``split`` and ``ann_file`` are not both given."""
        super().check_door()
        parse_classes(self.metainfo['classes'])
        root = self.data_root or ''
        if not osp.isfile(osp.join(root, BREAST_CSV)):
            raise VinDrReleaseError(
                f'{osp.join(root, BREAST_CSV)}: not found; data_root must be '
                'the VinDr-Mammo release folder (breast-level_annotations.csv,'
                ' finding_annotations.csv, images/)')
        if self.split is not None and self.ann_file:
            raise VinDrReleaseError(
                f'{self.ann_file}: give ann_file (a split file) or split '
                f'({self.split!r}, the official column), not both')

    def describe_split(self) -> str:
        """The split file's name, the official split, or 'all'."""
        if self.ann_file:
            return osp.basename(self.ann_file)
        return self.split or 'all'

    def scan(self, report: ScanReport) -> list[MammoRecord]:
        """Read the CSVs (see :func:`scan_vindr`)."""
        keys = read_key_file(
            self.ann_file, VINDR_KEY_RE, 'image_id',
            'write it with tools/split_patients.py (one image_id a line)'
        ) if self.ann_file else None
        return scan_vindr(
            self.data_root or '', self.metainfo['classes'], report,
            keys=keys, split=self.split, malignancy=self.malignancy,
            key_file=self.ann_file)
