"""Pure readers for the INbreast release as it ships (no torch, no mmdet).

The layout and quirks are those of ``INbreast Release 1.0`` (Moreira et al.,
"INbreast: toward a full-field digital mammographic database", Academic
Radiology 19(2), 2012)::

    <data_root>/
      AllDICOMs/<FileName>_<PatientHash>_MG_<L|R>_<CC|ML>_ANON.dcm
      AllXML/<FileName>.xml        OsiriX plist, only for annotated images
      INbreast.csv                 ';'-separated, one row per image

``<FileName>`` (8 digits) is the image key everywhere; ``<PatientHash>``
(16 hex digits) is the only reliable patient identifier.

Everything here reads metadata only: DICOM headers are read with
``stop_before_pixels=True``, so scanning the 410 images of the release takes
well under a second per hundred images.
"""
from __future__ import annotations

import csv
import os
import os.path as osp
import plistlib
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

#: ``<FileName>_<PatientHash>_MG_<L|R>_<CC|ML>_ANON.dcm``
DICOM_NAME_RE = re.compile(
    r'^(?P<key>\d{8})_(?P<patient>[0-9a-fA-F]{16})_MG_(?P<lat>[LR])_'
    r'(?P<view>CC|MLO|ML)_ANON\.dcm$', re.IGNORECASE)

CSV_COLUMNS = ('Patient ID', 'Patient age', 'Laterality', 'View',
               'Acquisition date', 'File Name', 'ACR', 'Bi-Rads')
_REQUIRED_CSV_COLUMNS = ('Laterality', 'View', 'File Name', 'ACR', 'Bi-Rads')

#: Normalised ROI name (lower case, single spaces) -> canonical lesion type.
#: The left column holds the spellings found in the real release, including
#: its misspellings ('assymetry', 'espiculated region'). Extend it here, in
#: one place, when a release with other names turns up.
LESION_NAMES: dict[str, str] = {
    'mass': 'mass',
    'masses': 'mass',
    'calcification': 'calcification',
    'calcifications': 'calcification',
    'calcificacion': 'calcification',
    'cluster': 'cluster',
    'clusters': 'cluster',
    'spiculated region': 'spiculated region',
    'spiculated regions': 'spiculated region',
    'espiculated region': 'spiculated region',
    'asymmetry': 'asymmetry',
    'assymetry': 'asymmetry',
    'asymetry': 'asymmetry',
    'distortion': 'distortion',
    'architectural distortion': 'distortion',
    'pectoral muscle': 'pectoral muscle',
}

#: ROIs with at most this many points are point annotations, never boxes.
MAX_POINT_ROI_POINTS = 2

#: Tolerance (pixels) for ``Point_px`` just outside the image; such points are
#: clipped to the image, points further out are an error.
POINT_TOLERANCE_PX = 1.0

_POINT_RE = re.compile(
    r'^\(\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*,\s*'
    r'([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(?:,[^)]*)?\)$')


class ReleaseError(ValueError):
    """A file of the release that cannot be used; the message names the file
    and the fix."""


@dataclass
class CsvRecord:
    """One row of ``INbreast.csv``.

    Attributes:
        file_name (str): The 8-digit image key.
        laterality (str): ``'L'`` or ``'R'``.
        view (str): ``'CC'`` or ``'MLO'`` as written in the CSV.
        acr (int | None): Breast density 1-4 (None if blank).
        birads (str): Bi-Rads as written (``'4a'``), stripped.
        birads_category (int | None): Its first character as an int.
        line (int): Line number in the CSV (1-based), for error messages.
    """
    file_name: str
    laterality: str
    view: str
    acr: int | None
    birads: str
    birads_category: int | None
    line: int


@dataclass
class Roi:
    """One ROI of an OsiriX XML file.

    Attributes:
        name (str): The ``Name`` as written in the file.
        lesion (str | None): Canonical lesion type from :data:`LESION_NAMES`,
            or None if the name is unknown.
        points (np.ndarray): (N, 2) float64 ``Point_px`` as (x, y) =
            (column, row) in original-image pixels.
    """
    name: str
    lesion: str | None
    points: np.ndarray

    @property
    def is_point(self) -> bool:
        """True for 1-2 point ROIs (calcifications): they have no area."""
        return len(self.points) <= MAX_POINT_ROI_POINTS

    @property
    def bbox(self) -> list[float]:
        """[x1, y1, x2, y2]: min/max of the polygon's points, pixels."""
        x1, y1 = self.points.min(axis=0)
        x2, y2 = self.points.max(axis=0)
        return [float(x1), float(y1), float(x2), float(y2)]


@dataclass
class DicomName:
    """The parts of a DICOM file name of the release."""
    file_name: str
    patient_id: str
    laterality: str
    view: str
    path: str


@dataclass
class ScanReport:
    """What :func:`scan_release` saw besides the usable images.

    Attributes:
        listed (int): Rows in the CSV (restricted to the split, if any).
        skipped (dict[str, list[str]]): Reason -> image keys (or file names)
            not read, e.g. ``'CSV row without DICOM'``.
        errors (dict[str, str]): Image key -> the full error for skipped
            images whose files are broken.
        xml_without_csv (list[str]): XML files whose key is not in the CSV.
        dicom_without_csv (list[str]): DICOM files whose key is not in the CSV.
        unknown_names (Counter): Unknown ROI names (normalised) -> count.
        point_rois (Counter): Lesion type -> number of 1-2 point ROIs seen
            for the requested classes (not turned into boxes).
        other_lesions (Counter): Known lesion types not in the classes.
    """
    listed: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    xml_without_csv: list[str] = field(default_factory=list)
    dicom_without_csv: list[str] = field(default_factory=list)
    unknown_names: Counter = field(default_factory=Counter)
    point_rois: Counter = field(default_factory=Counter)
    other_lesions: Counter = field(default_factory=Counter)

    def skip(self, reason: str, key: str, error: str | None = None) -> None:
        """Record that image ``key`` was not read, and why."""
        self.skipped.setdefault(reason, []).append(key)
        if error is not None:
            self.errors[key] = error


def normalize_lesion_name(name: str) -> str:
    """Lower-case, strip and collapse inner white space: ``' Mass  '`` ->
    ``'mass'``."""
    return ' '.join(str(name).split()).lower()


def lesion_type(name: str) -> str | None:
    """Canonical lesion type of an ROI name, or None if unknown.

    Args:
        name (str): ``Name`` of an ROI as written in the XML.

    Returns:
        str | None: A value of :data:`LESION_NAMES` (e.g. ``'Assymetry '``
        -> ``'asymmetry'``), or None for a name not in the table.
    """
    return LESION_NAMES.get(normalize_lesion_name(name))


def parse_dicom_name(path: str) -> DicomName | None:
    """Split ``<key>_<hash>_MG_<L|R>_<CC|ML>_ANON.dcm`` into its parts.

    Args:
        path (str): Path or file name of a DICOM file.

    Returns:
        DicomName | None: The parts (``patient_id`` lower-cased, ``view``
        upper-cased with ``'ML'`` kept as written), or None if the name does
        not follow the release's pattern.
    """
    m = DICOM_NAME_RE.match(osp.basename(path))
    if m is None:
        return None
    return DicomName(
        file_name=m['key'],
        patient_id=m['patient'].lower(),
        laterality=m['lat'].upper(),
        view=m['view'].upper(),
        path=path)


def _int_or_none(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() else None


def read_csv(path: str) -> dict[str, CsvRecord]:
    """Read ``INbreast.csv``.

    The real file is ';'-separated with stray spaces around values and
    header names and blank lines at the end; all of that is tolerated.
    ``Bi-Rads`` values like ``'4a'`` keep their letter in ``birads`` and give
    their category (first character) in ``birads_category``.

    Args:
        path (str): Path of ``INbreast.csv``.

    Returns:
        dict[str, CsvRecord]: Image key -> record, in file order.

    Raises:
        FileNotFoundError: If the file does not exist.
        ReleaseError: If a required column is missing, a ``File Name`` is not
            8 digits, or a key appears twice.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path}: INbreast.csv not found; data_root must be the release '
            f"folder that holds INbreast.csv, AllDICOMs/ and AllXML/")
    with open(path, newline='', encoding='utf-8-sig', errors='replace') as f:
        rows = list(csv.reader(f, delimiter=';'))
    rows = [(i + 1, [c.strip() for c in r]) for i, r in enumerate(rows)
            if any(c.strip() for c in r)]
    if not rows:
        raise ReleaseError(f'{path}: the CSV is empty')
    header_line, header = rows[0]
    index = {name.lower(): i for i, name in enumerate(header)}
    missing = [c for c in _REQUIRED_CSV_COLUMNS if c.lower() not in index]
    if missing:
        raise ReleaseError(
            f'{path}: header {header!r} lacks column(s) {missing}; expected '
            f"the release's ';'-separated header {';'.join(CSV_COLUMNS)!r}")

    def get(row: list[str], col: str) -> str:
        i = index[col.lower()]
        return row[i] if i < len(row) else ''

    records: dict[str, CsvRecord] = {}
    for line, row in rows[1:]:
        key = get(row, 'File Name')
        if not re.fullmatch(r'\d{8}', key):
            raise ReleaseError(
                f'{path}:{line}: File Name {key!r} is not an 8-digit image '
                'key; is this the INbreast.csv of the release?')
        if key in records:
            raise ReleaseError(
                f'{path}:{line}: duplicate File Name {key} (first on line '
                f'{records[key].line}); remove one of the two rows')
        birads = get(row, 'Bi-Rads')
        records[key] = CsvRecord(
            file_name=key,
            laterality=get(row, 'Laterality').upper(),
            view=get(row, 'View').upper(),
            acr=_int_or_none(get(row, 'ACR')),
            birads=birads,
            birads_category=int(birads[0]) if birads[:1].isdigit() else None,
            line=line)
    return records


def _parse_point(s: str, path: str) -> tuple[float, float]:
    m = _POINT_RE.match(str(s).strip())
    if m is None:
        raise ReleaseError(
            f"{path}: Point_px entry {s!r} is not '(x, y)'; is this an "
            'OsiriX ROI export?')
    return float(m.group(1)), float(m.group(2))


def read_xml(path: str,
             height: int | None = None,
             width: int | None = None) -> list[Roi]:
    """Read the ROIs of one OsiriX plist XML file.

    Entity declarations are refused before parsing (never expanded), so a
    hostile file cannot blow up memory.

    Args:
        path (str): Path of ``AllXML/<key>.xml``.
        height (int, optional): Image height (pixels). When given with
            ``width``, points are checked against the image: points up to
            :data:`POINT_TOLERANCE_PX` outside are clipped, further is an
            error.
        width (int, optional): Image width (pixels).

    Returns:
        list[Roi]: The ROIs in file order.

    Raises:
        ReleaseError: On malformed or non-plist XML, entity declarations,
            an unexpected structure, a bad ``Point_px`` entry,
            ``NumberOfPoints`` disagreeing with the points, or points
            outside the image.
    """
    with open(path, 'rb') as f:
        data = f.read()
    if b'<!ENTITY' in data.upper():
        raise ReleaseError(
            f'{path}: the XML declares entities (<!ENTITY ...>), which are '
            'refused, never expanded; re-export the ROIs from OsiriX')
    try:
        plist = plistlib.loads(data, fmt=plistlib.FMT_XML)
    except Exception as e:  # ExpatError, InvalidFileException, ValueError
        raise ReleaseError(
            f'{path}: not a readable plist XML ({type(e).__name__}: {e}); '
            'expected an OsiriX ROI export (AllXML/<key>.xml of the '
            'release)') from None
    images = plist.get('Images') if isinstance(plist, dict) else None
    if not isinstance(images, list):
        raise ReleaseError(
            f"{path}: plist has no 'Images' array (top-level keys: "
            f"{sorted(plist) if isinstance(plist, dict) else type(plist).__name__}"
            '); expected an OsiriX ROI export')
    rois: list[Roi] = []
    for image in images:
        for i, roi in enumerate(image.get('ROIs', []) or []):
            name = str(roi.get('Name', ''))
            raw_points = roi.get('Point_px', []) or []
            points = np.array([_parse_point(p, path) for p in raw_points],
                              dtype=np.float64).reshape(-1, 2)
            n_declared = roi.get('NumberOfPoints')
            if n_declared is not None and int(n_declared) != len(points):
                raise ReleaseError(
                    f'{path}: ROI {i} ({name.strip()!r}) declares '
                    f'NumberOfPoints={n_declared} but has {len(points)} '
                    'Point_px entries; the file is truncated or edited, '
                    're-export it')
            if len(points) == 0:
                continue
            if height is not None and width is not None:
                points = _check_points(points, height, width, path, i, name)
            rois.append(Roi(name=name, lesion=lesion_type(name), points=points))
    return rois


def _check_points(points: np.ndarray, height: int, width: int, path: str,
                  index: int, name: str) -> np.ndarray:
    tol = POINT_TOLERANCE_PX
    bad = ((points[:, 0] < -tol) | (points[:, 0] > width + tol)
           | (points[:, 1] < -tol) | (points[:, 1] > height + tol))
    if bad.any():
        x, y = points[np.argmax(bad)]
        raise ReleaseError(
            f'{path}: ROI {index} ({name.strip()!r}) has Point_px ({x:g}, '
            f'{y:g}) outside the {width} x {height} (w x h) image; the XML '
            'belongs to another image or was edited')
    return np.clip(points, 0, [width, height])


def read_dicom_size(path: str) -> tuple[int, int]:
    """(height, width) from a DICOM header, without decoding pixel data.

    Raises:
        ReleaseError: If the file is not DICOM or lacks Rows/Columns.
    """
    import pydicom
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        return int(ds.Rows), int(ds.Columns)
    except Exception as e:
        raise ReleaseError(
            f'{path}: cannot read Rows/Columns from the DICOM header '
            f'({type(e).__name__}: {e}); the file is truncated or not DICOM, '
            're-copy it from the release') from None


def list_dicoms(folder: str) -> tuple[dict[str, DicomName], list[str]]:
    """Index ``AllDICOMs/`` by image key.

    Returns:
        tuple: (key -> :class:`DicomName`, names that do not follow the
        release's pattern).

    Raises:
        FileNotFoundError: If the folder does not exist.
        ReleaseError: If two DICOM files carry the same key.
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(
            f'{folder}: AllDICOMs/ not found; data_root must be the release '
            'folder')
    found: dict[str, DicomName] = {}
    odd: list[str] = []
    for name in sorted(os.listdir(folder)):
        if not name.lower().endswith('.dcm'):
            continue
        parts = parse_dicom_name(name)
        if parts is None:
            odd.append(name)
            continue
        parts.path = osp.join(folder, name)
        if parts.file_name in found:
            raise ReleaseError(
                f'{folder}: duplicate image key {parts.file_name} in '
                f'{osp.basename(found[parts.file_name].path)} and {name}; '
                'remove the copy')
        found[parts.file_name] = parts
    return found, odd


def read_split_file(path: str) -> list[str]:
    """Read a split file: 8-digit keys, one a line; blank lines and ``#``
    comments are ignored.

    Raises:
        FileNotFoundError: If the file does not exist.
        ReleaseError: If a line is not an 8-digit key, a key repeats, or the
            split is empty.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path}: split file not found; write it with '
            'tools/split_patients.py or set ann_file=None for all images')
    keys: list[str] = []
    seen: set[str] = set()
    with open(path) as f:
        for line_no, line in enumerate(f, 1):
            key = line.split('#', 1)[0].strip()
            if not key:
                continue
            if not re.fullmatch(r'\d{8}', key):
                raise ReleaseError(
                    f'{path}:{line_no}: {key!r} is not an 8-digit image key')
            if key in seen:
                raise ReleaseError(f'{path}:{line_no}: key {key} repeats')
            seen.add(key)
            keys.append(key)
    if not keys:
        raise ReleaseError(
            f'{path}: the split lists no images; rerun tools/split_patients.py '
            'with ratios that give this split at least one patient')
    return keys


@dataclass
class ImageRecord:
    """One usable image of the release, with its boxes.

    Attributes:
        file_name (str): 8-digit key. patient_id (str): 16-hex hash.
        img_path (str): DICOM path. height, width (int): pixels.
        laterality, view (str): from the file name (view ``'CC'``/``'ML'``).
        birads (str), birads_category (int | None), acr (int | None): CSV.
        boxes (list[tuple[list[float], str]]): ([x1, y1, x2, y2], lesion
            type) for the ROIs whose type is requested.
    """
    file_name: str
    patient_id: str
    img_path: str
    height: int
    width: int
    laterality: str
    view: str
    birads: str
    birads_category: int | None
    acr: int | None
    boxes: list = field(default_factory=list)


def scan_release(data_root: str,
                 lesion_types: Iterable[str] = ('mass', ),
                 keys: Sequence[str] | None = None,
                 strict: bool = False,
                 csv_file: str = 'INbreast.csv',
                 dicom_dir: str = 'AllDICOMs',
                 xml_dir: str = 'AllXML') -> tuple[list[ImageRecord], ScanReport]:
    """Read the metadata and boxes of a release (or of the images ``keys``).

    Images listed in the CSV without an XML file are kept as negatives.
    Unknown ROI names are counted in the report, never silently dropped;
    ROIs of 1-2 points are counted as points, not boxes.

    Args:
        data_root (str): The release folder.
        lesion_types (Iterable[str]): Canonical lesion types to return as
            boxes. Defaults to ``('mass',)``.
        keys (Sequence[str], optional): Only these image keys (a split);
            keys missing from the CSV raise. Defaults to all CSV rows.
        strict (bool): Raise on the first broken file instead of skipping
            the image and recording the error. Defaults to False.
        csv_file, dicom_dir, xml_dir (str): Names inside ``data_root``.

    Returns:
        tuple[list[ImageRecord], ScanReport]: Records in CSV order, and the
        report of everything skipped or unusual.
    """
    wanted = set(lesion_types)
    unknown_types = wanted - set(LESION_NAMES.values())
    if unknown_types:
        raise ValueError(
            f'lesion types {sorted(unknown_types)} are not in the name table; '
            f'known: {sorted(set(LESION_NAMES.values()))}')
    csv_path = osp.join(data_root, csv_file)
    rows = read_csv(csv_path)
    dicoms, odd_dicoms = list_dicoms(osp.join(data_root, dicom_dir))
    xml_folder = osp.join(data_root, xml_dir)
    xml_keys = {osp.splitext(n)[0] for n in os.listdir(xml_folder)
                if n.lower().endswith('.xml')} if osp.isdir(xml_folder) else set()

    report = ScanReport()
    report.xml_without_csv = sorted(k for k in xml_keys if k not in rows)
    report.dicom_without_csv = sorted(k for k in dicoms if k not in rows)
    for name in odd_dicoms:
        report.skip('DICOM name not <key>_<hash>_MG_<L|R>_<view>_ANON.dcm', name)

    if keys is None:
        selected = list(rows)
    else:
        missing = [k for k in keys if k not in rows]
        if missing:
            raise ReleaseError(
                f'{csv_path}: the split lists {len(missing)} key(s) that are '
                f'not in the CSV: {missing[:10]}; the split was written for '
                'another release')
        selected = list(keys)
    report.listed = len(selected)

    records: list[ImageRecord] = []
    for key in selected:
        row = rows[key]
        dcm = dicoms.get(key)
        if dcm is None:
            report.skip('CSV row without DICOM', key)
            continue
        try:
            height, width = read_dicom_size(dcm.path)
            rois = read_xml(osp.join(xml_folder, key + '.xml'), height,
                            width) if key in xml_keys else []
        except ReleaseError as e:
            if strict:
                raise
            report.skip('unreadable file', key, str(e))
            continue
        boxes = []
        for roi in rois:
            if roi.lesion is None:
                report.unknown_names[normalize_lesion_name(roi.name)] += 1
            elif roi.lesion not in wanted:
                report.other_lesions[roi.lesion] += 1
            elif roi.is_point:
                report.point_rois[roi.lesion] += 1
            else:
                boxes.append((roi.bbox, roi.lesion))
        records.append(ImageRecord(
            file_name=key, patient_id=dcm.patient_id, img_path=dcm.path,
            height=height, width=width, laterality=dcm.laterality,
            view=dcm.view, birads=row.birads,
            birads_category=row.birads_category, acr=row.acr, boxes=boxes))
    return records, report


def format_report(records: Sequence[ImageRecord], report: ScanReport,
                  lesion_types: Iterable[str] = ('mass', )) -> str:
    """One summary line: images listed, read, negative, skipped (with
    reasons), boxes per lesion type, patients; then unknown names and
    orphans, if any."""
    n_boxes = Counter(t for r in records for _, t in r.boxes)
    negatives = sum(1 for r in records if not r.boxes)
    skipped = sum(len(v) for v in report.skipped.values())
    reasons = '; '.join(f'{len(v)} {reason}: {", ".join(v[:5])}'
                        + (' ...' if len(v) > 5 else '')
                        for reason, v in report.skipped.items())
    boxes = ', '.join(f'{n_boxes[t]} {t}' + ('es' if t == 'mass' else '')
                      for t in lesion_types)
    line = (f'{report.listed} images listed, {len(records)} read, '
            f'{negatives} negative, {skipped} skipped'
            + (f' ({reasons})' if reasons else '')
            + f', {boxes}, {len({r.patient_id for r in records})} patients')
    extra = []
    if report.unknown_names:
        extra.append('unknown ROI names (not used): '
                     + ', '.join(f'{n!r} x{c}'
                                 for n, c in report.unknown_names.items()))
    if report.xml_without_csv:
        extra.append(f'{len(report.xml_without_csv)} XML without CSV row: '
                     f'{report.xml_without_csv[:10]}')
    if report.dicom_without_csv:
        extra.append(f'{len(report.dicom_without_csv)} DICOM without CSV '
                     f'row: {report.dicom_without_csv[:10]}')
    for key, err in report.errors.items():
        extra.append(f'skipped {key}: {err}')
    return '\n'.join([line] + extra)
