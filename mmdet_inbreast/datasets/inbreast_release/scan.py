"""The one scan of a release: every tool and the dataset read it this way.

:func:`scan_release` reads the CSV, lists ``AllDICOMs/``, checks every
DICOM at the door (:func:`~mmdet_inbreast.datasets.dicom.read_dicom_header`:
modality, one 2-D grayscale frame, pixel-data length, a decoder for
compressed data) and reads each XML, comparing its image size with the
DICOM's. A file that fails is skipped and named in the
:class:`~.report.ScanReport` under its reason (``strict=True`` raises
instead); :func:`~.report.format_report` gives the summary line every tool
prints. :func:`iter_pixels` decodes the records the scan kept, skipping
and reporting in the same report.
"""
from __future__ import annotations

import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Optional, Sequence

import numpy as np

from ..dicom import (DEFAULT_MODALITIES, DecoderError, DicomError,
                     ModalityError, read_dicom_header, read_dicom_pixels)
from ..records import ImageInfo, check_split_keys
from .csv import read_csv
from .errors import ReleaseError
from .names import (LESION_NAMES, POINT_LESIONS, list_dicoms,
                    normalize_lesion_name)
from .report import ScanReport
from .xml import MAX_POINT_ROI_POINTS, read_xml

#: Skip reasons of the scan, as they appear in the summary line.
REASON_NOT_MAMMOGRAM = 'not a mammogram (Modality)'
REASON_DECODER = 'compressed, no working decoder'
REASON_DICOM = 'unusable DICOM'
REASON_XML = 'unusable XML'
REASON_SHORT_ROI = 'ROI with fewer than 3 points'
REASON_UNKNOWN_NAME = 'unknown ROI name'
REASON_PIXELS = 'pixels not decodable'


@dataclass
class ImageRecord(ImageInfo):
    """One usable image of the release, with its boxes.

    Attributes:
        (those of :class:`~mmdet_inbreast.datasets.records.ImageInfo`:
        the 8-digit key, the 16-hex patient hash, the DICOM path, size,
        and laterality and view from the file name, then)
        birads (str), birads_category (int | None), acr (int | None): CSV.
        boxes (list[tuple[list[float], str]]): ([x1, y1, x2, y2], lesion
            type) for the ROIs whose type is requested.
    """
    birads: str
    birads_category: int | None
    acr: int | None
    boxes: list = field(default_factory=list)


def _reason(error: Exception) -> str:
    if isinstance(error, ModalityError):
        return REASON_NOT_MAMMOGRAM
    if isinstance(error, DecoderError):
        return REASON_DECODER
    if isinstance(error, DicomError):
        return REASON_DICOM
    return REASON_XML


def scan_release(data_root: str,
                 lesion_types: Iterable[str] = ('mass', ),
                 keys: Sequence[str] | None = None,
                 strict: bool = False,
                 allowed_modalities: Optional[Sequence[str]] = (
                     DEFAULT_MODALITIES),
                 csv_file: str = 'INbreast.csv',
                 dicom_dir: str = 'AllDICOMs',
                 xml_dir: str = 'AllXML',
                 report: ScanReport | None = None
                 ) -> tuple[list[ImageRecord], ScanReport]:
    """Read the metadata and boxes of a release (or of the images ``keys``).

    Images listed in the CSV without an XML file are kept as negatives.
    ROIs of 0-2 points are counted as point ROIs by lesion name, never
    boxes; a point ROI of a requested type that is not annotated as points
    by design (a mass of 1-2 points; see
    :data:`~.names.POINT_LESIONS`) skips its image, named with its file, so
    that it does not become a negative. An unknown ROI name is counted and
    named with its file; its image is kept.

    Args:
        data_root (str): The release folder.
        lesion_types (Iterable[str]): Canonical lesion types to return as
            boxes. Defaults to ``('mass',)``.
        keys (Sequence[str], optional): Only these image keys (a split);
            keys missing from the CSV raise. Defaults to all CSV rows.
        strict (bool): Raise on the first broken file, duplicate key,
            refused DICOM, short ROI of a requested type or unknown ROI
            name, instead of skipping (or counting) and reporting it.
            Defaults to False.
        allowed_modalities (Sequence[str], optional): DICOM ``Modality``
            values accepted; None accepts any. Defaults to ``('MG',)``.
        csv_file, dicom_dir, xml_dir (str): Names inside ``data_root``.
        report (ScanReport, optional): Filled in place and returned; a new
            one by default.

    Returns:
        tuple[list[ImageRecord], ScanReport]: Records in CSV order, and the
        report of everything skipped or unusual.

    Raises:
        ValueError: A lesion type that is not in the name table.
        ReleaseError: A split key not in the CSV; with ``strict``, the
            first fault (a :class:`~..dicom.DicomError` for DICOMs).
    """
    wanted = set(lesion_types)
    unknown_types = wanted - set(LESION_NAMES.values())
    if unknown_types:
        raise ValueError(
            f'lesion types {sorted(unknown_types)} are not in the name table; '
            f'known: {sorted(set(LESION_NAMES.values()))}')
    csv_path = osp.join(data_root, csv_file)
    # Duplicate keys raise in strict mode; otherwise the key is left out
    # and reported (which row or file is right cannot be told).
    dup_rows: dict[str, str] | None = None if strict else {}
    dup_files: dict[str, str] | None = None if strict else {}
    rows = read_csv(csv_path, duplicates=dup_rows)
    dicoms, odd_dicoms = list_dicoms(
        osp.join(data_root, dicom_dir), duplicates=dup_files)
    csv_keys = list(rows) + list(dup_rows or {})
    duplicated = {k: ('duplicate DICOM key', m)
                  for k, m in (dup_files or {}).items() if k in csv_keys}
    duplicated.update({k: ('duplicate CSV row', m)
                       for k, m in (dup_rows or {}).items()})
    xml_folder = osp.join(data_root, xml_dir)
    xml_keys = {osp.splitext(n)[0] for n in os.listdir(xml_folder)
                if n.lower().endswith('.xml')} if osp.isdir(xml_folder) else set()

    report = ScanReport() if report is None else report
    report.xml_without_csv = sorted(k for k in xml_keys if k not in csv_keys)
    report.dicom_without_csv = sorted(
        k for k in list(dicoms) + list(dup_files or {}) if k not in csv_keys)
    for name in odd_dicoms:
        report.skip('DICOM name not <key>_<hash>_MG_<L|R>_<view>_ANON.dcm', name)

    if keys is None:
        selected = csv_keys
    else:
        selected = check_split_keys(keys, set(csv_keys), csv_path, 'the CSV',
                                    ReleaseError)
    report.listed = len(selected)

    records: list[ImageRecord] = []
    for key in selected:
        if key in duplicated:
            reason, message = duplicated[key]
            report.skip(reason, key, message)
            continue
        row = rows[key]
        dcm = dicoms.get(key)
        if dcm is None:
            report.skip('CSV row without DICOM', key)
            continue
        xml_path = osp.join(xml_folder, key + '.xml')
        try:
            header = read_dicom_header(dcm.path, allowed_modalities)
            height, width = header.rows, header.columns
            rois = read_xml(xml_path, height, width,
                            dicom_path=dcm.path) if key in xml_keys else []
        except (ReleaseError, DicomError) as e:
            if strict:
                raise
            report.skip(_reason(e), key, str(e))
            continue
        boxes, short = [], []
        for i, roi in enumerate(rois):
            name = normalize_lesion_name(roi.name)
            if roi.is_point:
                report.point_rois[roi.lesion or name] += 1
            if roi.lesion is None:
                report.unknown_names[name] += 1
                files = report.unknown_name_files.setdefault(name, [])
                if xml_path not in files:
                    files.append(xml_path)
                if strict:
                    raise ReleaseError(
                        f'{xml_path}: ROI {i} has the unknown name '
                        f'{roi.name.strip()!r}; add its spelling to '
                        'LESION_NAMES (datasets/inbreast_release/names.py) '
                        'or rename the ROI')
            elif roi.lesion not in wanted:
                if not roi.is_point:
                    report.other_lesions[roi.lesion] += 1
            elif roi.is_point:
                if roi.lesion not in POINT_LESIONS:
                    short.append(f'ROI {i} ({roi.name.strip()!r}) has '
                                 f'{len(roi.points)} point(s)')
            else:
                boxes.append((roi.bbox, roi.lesion))
        if short:
            message = (f'{xml_path}: {"; ".join(short)}, fewer than '
                       f'{MAX_POINT_ROI_POINTS + 1}, so no box; the image '
                       'is left out rather than read as a negative: '
                       're-draw the outline in OsiriX and export it again')
            if strict:
                raise ReleaseError(message)
            report.skip(REASON_SHORT_ROI, key, message)
            continue
        records.append(ImageRecord(
            file_name=key, patient_id=dcm.patient_id, img_path=dcm.path,
            height=height, width=width, laterality=dcm.laterality,
            view=dcm.view, birads=row.birads,
            birads_category=row.birads_category, acr=row.acr, boxes=boxes))
    return records, report


def iter_pixels(records: Sequence[ImageRecord],
                report: ScanReport,
                apply_voi_lut: bool = False,
                progress: Optional[Callable[[Iterable], Iterable]] = None
                ) -> Iterator[tuple[ImageRecord, np.ndarray]]:
    """Decode the records' pixels, skipping and reporting the ones that
    fail.

    A file that does not decode is added to ``report`` under
    ``'pixels not decodable'`` (with its error) and the loop goes on, so
    every tool that reads pixels ends with the same summary as the scan.

    Args:
        records (Sequence[ImageRecord]): From :func:`scan_release`.
        report (ScanReport): The scan's report; skips are added to it.
        apply_voi_lut (bool): See
            :func:`~mmdet_inbreast.datasets.dicom.read_dicom_pixels`.
            Defaults to False.
        progress (callable, optional): Wraps the record iterator (tqdm).

    Yields:
        tuple[ImageRecord, np.ndarray]: Each readable record and its (H, W)
        pixels.
    """
    for record in (progress(records) if progress else records):
        try:
            pixels, _ = read_dicom_pixels(record.img_path, apply_voi_lut)
        except (DicomError, FileNotFoundError) as e:
            report.skip(REASON_PIXELS, record.file_name, str(e))
            continue
        yield record, pixels
