"""Readers of the INbreast release as it ships (no torch, no mmdet).

The layout and quirks are those of ``INbreast Release 1.0`` (Moreira et al.,
"INbreast: toward a full-field digital mammographic database", Academic
Radiology 19(2), 2012)::

    <data_root>/
      AllDICOMs/<FileName>_<PatientHash>_MG_<L|R>_<CC|ML>_ANON.dcm
      AllXML/<FileName>.xml        OsiriX plist, only for annotated images
      INbreast.csv                 ';'-separated, one row per image

Modules: :mod:`.csv` (``INbreast.csv``), :mod:`.xml` (OsiriX plists),
:mod:`.names` (file and lesion names), :mod:`.scan` (the one scan every
tool uses), :mod:`.report` (its report and summary line). DICOM headers and
pixels are read by :mod:`mmdet_inbreast.datasets.dicom`.
"""
from .csv import CSV_COLUMNS, CsvRecord, read_csv
from .errors import ReleaseError
from .names import (DICOM_NAME_RE, LESION_NAMES, POINT_LESIONS, DicomName,
                    lesion_type, list_dicoms, normalize_lesion_name,
                    parse_dicom_name)
from .report import ScanReport, format_report
from .scan import ImageRecord, iter_pixels, scan_release
from .xml import MAX_POINT_ROI_POINTS, POINT_TOLERANCE_PX, Roi, read_xml

__all__ = [
    'CSV_COLUMNS', 'CsvRecord', 'read_csv', 'ReleaseError', 'DICOM_NAME_RE',
    'LESION_NAMES', 'POINT_LESIONS', 'DicomName', 'lesion_type',
    'list_dicoms', 'normalize_lesion_name', 'parse_dicom_name', 'ScanReport',
    'format_report', 'ImageRecord', 'iter_pixels', 'scan_release',
    'MAX_POINT_ROI_POINTS', 'POINT_TOLERANCE_PX', 'Roi', 'read_xml'
]
