"""What a scan of the release saw, and its one summary line."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from ..records import ScanReport as BaseScanReport


@dataclass
class ScanReport(BaseScanReport):
    """What :func:`~.scan.scan_release` saw besides the usable images.

    Attributes:
        (those of :class:`~mmdet_inbreast.datasets.records.ScanReport`:
        ``listed`` rows of the CSV, restricted to the split if any;
        ``skipped`` reason -> image keys or file names not read, e.g.
        ``'CSV row without DICOM'``; ``errors`` image key -> the full error
        for broken files; ``counts`` of things kept but worth a number in
        the summary; then)
        xml_without_csv (list[str]): XML files whose key is not in the CSV.
        dicom_without_csv (list[str]): DICOM files whose key is not in the CSV.
        unknown_names (Counter): Unknown ROI names (normalised) -> count.
        unknown_name_files (dict[str, list[str]]): Unknown ROI name ->
            the XML files (paths) that use it.
        point_rois (Counter): Lesion type (or normalised name, when
            unknown) -> number of 0-2 point ROIs seen (never boxes).
        other_lesions (Counter): Known lesion types not in the classes
            (polygons).
    """
    xml_without_csv: list[str] = field(default_factory=list)
    dicom_without_csv: list[str] = field(default_factory=list)
    unknown_names: Counter = field(default_factory=Counter)
    unknown_name_files: dict[str, list[str]] = field(default_factory=dict)
    point_rois: Counter = field(default_factory=Counter)
    other_lesions: Counter = field(default_factory=Counter)

    def dropped(self) -> dict[str, list[str]]:
        """Everything that is in the release but not in the records:
        reason -> keys or file names, orphans included.

        Returns:
            dict[str, list[str]]: ``skipped`` plus ``'XML without CSV row'``
            and ``'DICOM without CSV row'`` where there are any.
        """
        out = {reason: list(keys) for reason, keys in self.skipped.items()}
        if self.xml_without_csv:
            out['XML without CSV row'] = list(self.xml_without_csv)
        if self.dicom_without_csv:
            out['DICOM without CSV row'] = list(self.dicom_without_csv)
        return out


def _names(values: Sequence[str], limit: int = 5) -> str:
    return ', '.join(values[:limit]) + (' ...' if len(values) > limit else '')


def format_report(records: Sequence, report: ScanReport,
                  lesion_types: Iterable[str] = ('mass', )) -> str:
    """The summary of a scan: one line, then details.

    The first line: images listed, read, negative, skipped (by reason, with
    their keys), boxes per lesion type, patients, point ROIs by lesion
    name, unknown ROI names. The lines after it: unknown names with their
    files, orphan files, and the full error of each skipped image.

    Args:
        records (Sequence[ImageRecord]): The images read.
        report (ScanReport): The scan's report.
        lesion_types (Iterable[str]): The requested lesion types.

    Returns:
        str: The summary (first line first).
    """
    n_boxes = Counter(t for r in records for _, t in r.boxes)
    negatives = sum(1 for r in records if not r.boxes)
    reasons = '; '.join(f'{len(v)} {reason}: {_names(v)}'
                        for reason, v in report.skipped.items())
    boxes = ', '.join(f'{n_boxes[t]} {t}' + ('es' if t == 'mass' else '')
                      for t in lesion_types)
    points = sum(report.point_rois.values())
    point_text = f'{points} point ROIs' + (
        ' (' + ', '.join(f'{c} {n}' for n, c in
                         sorted(report.point_rois.items())) + ')'
        if points else '')
    unknown = sum(report.unknown_names.values())
    unknown_text = f'{unknown} unknown ROI names' + (
        ' (' + ', '.join(f'{n!r} x{c}' for n, c in
                         sorted(report.unknown_names.items())) + ')'
        if unknown else '')
    line = (f'{report.listed} images listed, {len(records)} read, '
            f'{negatives} negative, {report.num_skipped} skipped'
            + (f' ({reasons})' if reasons else '')
            + f', {boxes}, {len({r.patient_id for r in records})} patients, '
            + f'{point_text}, {unknown_text}')
    if report.counts:
        line += '; ' + ', '.join(f'{n} {what}'
                                 for what, n in report.counts.items())
    extra = []
    for name, files in sorted(report.unknown_name_files.items()):
        extra.append(f'unknown ROI name {name!r} (not used) in '
                     f'{len(files)} file(s): {_names(files, 10)}')
    if report.xml_without_csv:
        extra.append(f'{len(report.xml_without_csv)} XML without CSV row: '
                     f'{report.xml_without_csv[:10]}')
    if report.dicom_without_csv:
        extra.append(f'{len(report.dicom_without_csv)} DICOM without CSV '
                     f'row: {report.dicom_without_csv[:10]}')
    for key, err in report.errors.items():
        extra.append(f'skipped {key}: {err}')
    return '\n'.join([line] + extra)
