"""Pure readers of the VinDr-Mammo release (no torch, no mmdet).

``csv``: the two annotation CSVs and the category names; ``scan``: the
usable images of a release, with their boxes and a report of problems.
"""
from .csv import (BREAST_CSV, CATEGORY_CLASSES, FINDING_CSV, IMAGE_DIR,
                  BreastRow, FindingRow, VinDrReleaseError, category_class,
                  parse_categories, read_breast_csv, read_finding_csv)
from .scan import VINDR_KEY_RE, dicom_path, parse_classes, scan_vindr

__all__ = [
    'BREAST_CSV', 'CATEGORY_CLASSES', 'FINDING_CSV', 'IMAGE_DIR',
    'BreastRow', 'FindingRow', 'VINDR_KEY_RE', 'VinDrReleaseError',
    'category_class', 'dicom_path', 'parse_categories', 'parse_classes',
    'read_breast_csv', 'read_finding_csv', 'scan_vindr'
]
