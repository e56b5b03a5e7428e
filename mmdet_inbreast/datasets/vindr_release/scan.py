"""The usable images of a VinDr-Mammo release, with their boxes.

Built from the two CSVs alone: ``height``/``width`` come from
``breast-level_annotations.csv``, so no DICOM is opened (each file's
existence is checked). The headers are compared with the CSV when an image
is first loaded and by :meth:`BaseMammoDataset.verify`.
"""
from __future__ import annotations

import os.path as osp
from typing import Sequence

from ..malignancy import MalignancyRule, box_labels, split_class_name
from ..records import MammoBox, MammoRecord, ScanReport, check_split_keys
from .csv import (BREAST_CSV, CATEGORY_CLASSES, FINDING_CSV, IMAGE_DIR,
                  BreastRow, FindingRow, VinDrReleaseError, category_class,
                  is_unknown_category, read_breast_csv, read_finding_csv)

#: An image_id / study_id of the release (hex hashes; tolerant of other
#: alphanumeric ids).
VINDR_KEY_RE = r'[0-9A-Za-z_.-]+'

#: Boxes up to this far (pixels) outside the image are clipped to it;
#: further is a problem.
BOX_TOLERANCE_PX = 1.0


def dicom_path(data_root: str, study_id: str, image_id: str) -> str:
    """``<data_root>/images/<study_id>/<image_id>.dicom``."""
    return osp.join(data_root, IMAGE_DIR, study_id, image_id + '.dicom')


def parse_classes(classes: Sequence[str]) -> list[tuple[str | None, str]]:
    """Check class names and split them into (malignancy, category class).

    Args:
        classes (Sequence[str]): Class names: a category class
            (``'mass'``) or one with a malignancy (``'malignant_mass'``).

    Returns:
        list[tuple[str | None, str]]: ``(None, 'mass')``,
        ``('malignant', 'mass')``, ...

    Raises:
        VinDrReleaseError: An unknown class name (the message lists them).
    """
    known = sorted(v for v in CATEGORY_CLASSES.values() if v)
    parsed = [split_class_name(c) for c in classes]
    bad = [c for c, (_, cat) in zip(classes, parsed) if cat not in known]
    if bad:
        raise VinDrReleaseError(
            f'classes {bad} are not VinDr-Mammo finding classes; choose from '
            f'{known}, optionally prefixed benign_ / malignant_')
    return parsed


def _image_boxes(row: BreastRow, findings: list[FindingRow],
                 classes: Sequence[str], rule: MalignancyRule,
                 finding_path: str, report: ScanReport) -> list[MammoBox] | None:
    """The boxes of one image for the selected classes, or None when a box
    lies outside the image (the image is then skipped)."""
    boxes: list[MammoBox] = []
    for f in findings:
        names = []
        for cat in f.categories:
            cls = category_class(cat)
            if is_unknown_category(cls):
                report.problem(
                    f'{finding_path}:{f.line}: unknown finding category '
                    f'{cat!r} (not used; the row\'s other categories are); '
                    f'known: {sorted(CATEGORY_CLASSES)}')
                report.counts['unknown categories'] += 1
            elif cls is not None:
                names.append(cls)
        labels, unknown = box_labels(names, f.birads, classes, rule)
        if not labels and unknown is None:
            continue
        if f.box is None:
            report.problem(
                f'{finding_path}:{f.line}: finding {list(f.categories)} has '
                'no box (xmin..ymax empty); not used, the image may look '
                'negative for it')
            report.counts['findings without box'] += 1
            continue
        x1, y1, x2, y2 = f.box
        tol = BOX_TOLERANCE_PX
        if (x1 < -tol or y1 < -tol or x2 > row.width + tol
                or y2 > row.height + tol or x2 <= x1 or y2 <= y1):
            report.problem(
                f'{finding_path}:{f.line}: box ({x1:g}, {y1:g}, {x2:g}, '
                f'{y2:g}) is empty or outside the {row.width} x {row.height} '
                f'(w x h) image {row.image_id}; the image is left out: fix '
                'the row', skip=row.image_id, reason='box outside the image')
            return None
        bbox = [max(x1, 0.0), max(y1, 0.0), min(x2, float(row.width)),
                min(y2, float(row.height))]
        boxes.extend(MammoBox(bbox, cls) for cls in labels)
        if unknown is not None:
            report.counts['boxes of unknown malignancy '
                          f'({rule.unknown})'] += 1
            if rule.unknown == 'ignore':
                boxes.append(MammoBox(bbox, unknown, True))
    return boxes


def scan_vindr(data_root: str,
               classes: Sequence[str] = ('mass', ),
               report: ScanReport | None = None,
               keys: Sequence[str] | None = None,
               split: str | None = None,
               malignancy: MalignancyRule | None = None,
               key_file: str = '') -> list[MammoRecord]:
    """Read the usable images of a VinDr-Mammo release.

    A box with several categories counts once for each selected class
    (and once per class, whatever its other categories). Images without a
    box of a selected class are negatives and are kept. With malignancy
    classes (``'malignant_mass'``), a box counts for the class its
    ``finding_birads`` gives (:class:`MalignancyRule`); a box of unknown
    malignancy is an ignored instance (of the first such class) or left
    out, per the rule.

    Args:
        data_root (str): The release folder.
        classes (Sequence[str]): Class names (see :func:`parse_classes`).
            Defaults to ``('mass',)``.
        report (ScanReport, optional): Receives the problems; a fresh,
            non-strict one by default.
        keys (Sequence[str], optional): Only these image_ids (a split
            file), in this order; ids missing from the CSV raise.
        split (str, optional): Only rows whose official ``split`` column has
            this value (``'training'``, ``'test'``).
        malignancy (MalignancyRule, optional): BI-RADS -> malignancy.
        key_file (str): The split file ``keys`` came from, for messages.

    Returns:
        list[MammoRecord]: In CSV (or ``keys``) order; ``img_id`` is the
        row's position in ``breast-level_annotations.csv``, ``patient_id``
        the ``study_id``; ``extra`` holds ``study_id``, ``series_id``,
        ``split``.

    Raises:
        VinDrReleaseError: Unknown classes or split value, split-file ids
            not in the CSV, missing CSVs; any problem when strict.
    """
    report = report if report is not None else ScanReport(
        error_type=VinDrReleaseError)
    parse_classes(classes)
    rule = malignancy or MalignancyRule()
    breast_path = osp.join(data_root, BREAST_CSV)
    finding_path = osp.join(data_root, FINDING_CSV)
    rows, row_splits = read_breast_csv(breast_path, report)
    findings, broken = read_finding_csv(finding_path, report)
    skipped_ids = {k for v in report.skipped.values() for k in v}

    known_ids = set(rows) | skipped_ids
    orphans = [f for image_id, fs in findings.items()
               if image_id not in known_ids for f in fs]
    for f in orphans[:20]:
        report.problem(f'{finding_path}:{f.line}: image_id {f.image_id} is '
                       f'not in {BREAST_CSV}; the finding is not used')
    if orphans:
        report.counts['finding rows without image row'] += len(orphans)

    if keys is not None:
        selected = check_split_keys(keys, known_ids, key_file or 'the split',
                                    breast_path, VinDrReleaseError)
    else:
        selected = list(rows) + sorted(skipped_ids - set(rows))
    if split is not None:
        values = sorted(set(row_splits.values()))
        if split not in values:
            raise VinDrReleaseError(
                f"{breast_path}: split={split!r} is not a value of the "
                f"'split' column ({values}); use one of them or split=None")
        selected = [k for k in selected if row_splits.get(k) == split]
    report.listed = len(selected)
    # Skipped images outside the selection are not part of this dataset
    # (their problem lines stay in the report).
    chosen = set(selected)
    report.skipped = {reason: [k for k in ks if k in chosen]
                      for reason, ks in report.skipped.items()
                      if any(k in chosen for k in ks)}

    records: list[MammoRecord] = []
    for image_id in selected:
        row = rows.get(image_id)
        if row is None or image_id in skipped_ids:
            continue  # reported by the CSV reader
        if image_id in broken:
            continue  # reported and skipped by read_finding_csv
        path = dicom_path(data_root, row.study_id, image_id)
        if not osp.isfile(path):
            report.problem(
                f'{breast_path}:{row.line}: image {image_id} has no DICOM '
                f'file {path}; copy it from the release or remove the row',
                skip=image_id, reason='CSV row without DICOM')
            continue
        boxes = _image_boxes(row, findings.get(image_id, []), classes,
                             rule, finding_path, report)
        if boxes is None:
            continue
        records.append(MammoRecord(
            file_name=image_id, patient_id=row.study_id, img_path=path,
            height=row.height, width=row.width, laterality=row.laterality,
            view=row.view, birads=row.birads,
            birads_category=int(row.birads[0]) if row.birads else None,
            density=row.density, img_id=row.index, boxes=boxes,
            source=f'{breast_path}:{row.line}',
            extra=dict(study_id=row.study_id, series_id=row.series_id,
                       split=row.split)))
    return records
