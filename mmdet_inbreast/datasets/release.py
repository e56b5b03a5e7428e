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

from ..utils.errors import InputError

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


class ReleaseError(InputError):
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


def read_csv(path: str,
             duplicates: dict[str, str] | None = None
             ) -> dict[str, CsvRecord]:
    """Read ``INbreast.csv``.

    The real file is ';'-separated with stray spaces around values and
    header names and blank lines at the end; all of that is tolerated.
    ``Bi-Rads`` values like ``'4a'`` keep their letter in ``birads`` and give
    their category (first character) in ``birads_category``.

    Args:
        path (str): Path of ``INbreast.csv``.
        duplicates (dict[str, str], optional): If given, a key that
            appears on more than one row is left out of the result (which
            row is right cannot be told) and stored here with a message
            naming the lines. Defaults to None: a duplicate raises.

    Returns:
        dict[str, CsvRecord]: Image key -> record, in file order.

    Raises:
        FileNotFoundError: If the file does not exist.
        ReleaseError: If a required column is missing, a ``File Name`` is not
            8 digits, or (without ``duplicates``) a key appears twice.
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
    repeated: dict[str, list[int]] = {}
    for line, row in rows[1:]:
        key = get(row, 'File Name')
        if not re.fullmatch(r'\d{8}', key):
            raise ReleaseError(
                f'{path}:{line}: File Name {key!r} is not an 8-digit image '
                'key; is this the INbreast.csv of the release?')
        if key in records:
            if duplicates is None:
                raise ReleaseError(
                    f'{path}:{line}: duplicate File Name {key} (first on '
                    f'line {records[key].line}); remove one of the two rows')
            repeated.setdefault(key, [records[key].line]).append(line)
            continue
        birads = get(row, 'Bi-Rads')
        records[key] = CsvRecord(
            file_name=key,
            laterality=get(row, 'Laterality').upper(),
            view=get(row, 'View').upper(),
            acr=_int_or_none(get(row, 'ACR')),
            birads=birads,
            birads_category=int(birads[0]) if birads[:1].isdigit() else None,
            line=line)
    for key, lines in repeated.items():
        del records[key]
        duplicates[key] = (
            f'{path}: File Name {key} on lines {lines}; the image is left '
            'out: remove all but one of these rows')
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
        roi_list = image.get('ROIs', []) if isinstance(image, dict) else None
        if not isinstance(roi_list, list):
            raise ReleaseError(
                f"{path}: an 'Images' entry is {type(image).__name__} "
                f"{_short(image)} or has ROIs that are not an array; expected "
                'a dict with a ROIs array (OsiriX ROI export)')
        for i, roi in enumerate(roi_list):
            if not isinstance(roi, dict):
                raise ReleaseError(
                    f'{path}: ROI {i} is {type(roi).__name__} {_short(roi)}, '
                    'not a dict; expected an OsiriX ROI export')
            name = str(roi.get('Name', ''))
            raw_points = roi.get('Point_px', []) or []
            if not isinstance(raw_points, list):
                raise ReleaseError(
                    f'{path}: ROI {i} ({name.strip()!r}) has Point_px '
                    f"{_short(raw_points)}, not an array of '(x, y)' strings; "
                    'expected an OsiriX ROI export')
            points = np.array([_parse_point(p, path) for p in raw_points],
                              dtype=np.float64).reshape(-1, 2)
            n_declared = roi.get('NumberOfPoints')
            if n_declared is not None and not isinstance(n_declared, int):
                raise ReleaseError(
                    f'{path}: ROI {i} ({name.strip()!r}) has NumberOfPoints '
                    f'{_short(n_declared)}, not an <integer>; re-export it')
            if n_declared is not None and n_declared != len(points):
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


def _short(value: object, limit: int = 60) -> str:
    """``repr`` of a value, cut to ``limit`` characters for messages."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + '...'


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


#: Install hint for pydicom pixel decoders.
DECODER_HINT = ('pip install pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg '
                'pylibjpeg-rle (JPEG, JPEG 2000, RLE), pip install pyjpegls '
                '(JPEG-LS) or pip install python-gdcm (all)')


@dataclass
class PixelHeader:
    """The pixel-module values of a DICOM header that the loader relies on.

    Attributes:
        rows, columns (int): Image height and width (pixels).
        bits_allocated, bits_stored (int): INbreast: 16 and 14.
        pixel_representation (int): 0 unsigned, 1 signed.
        photometric (str): ``'MONOCHROME1'`` or ``'MONOCHROME2'``.
        transfer_syntax (UID | None): From the file meta, if any.
    """
    rows: int
    columns: int
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    photometric: str
    transfer_syntax: object = None


def _header_int(ds, keyword: str, path: str, default: int | None = None
                ) -> int | None:
    """``int(ds.<keyword>)`` or a :class:`ReleaseError` that shows the bad
    value (pydicom keeps an unparsable IS/US value as a string)."""
    value = ds.get(keyword, default)
    if value is None or value == '':
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ReleaseError(
            f'{path}: DICOM header {keyword} = {_short(value)} is not an '
            'integer; the header is damaged, copy the file again') from None


def check_pixel_header(ds, path: str) -> PixelHeader:
    """Check that a DICOM dataset holds one 2-D grayscale image.

    Only the header is looked at (works on a dataset read with
    ``stop_before_pixels=True`` or ``defer_size``); the presence and length
    of the pixel data are checked by :func:`read_dicom_size`.

    Args:
        ds (pydicom.Dataset): The dataset.
        path (str): Its file, for messages.

    Returns:
        PixelHeader: The checked values.

    Raises:
        ReleaseError: Missing Rows/Columns, colour or palette data, more than
            one frame (3-D or multi-frame), an unsupported bit depth, or an
            unparsable value; each message names the file and the fix.
    """
    rows = _header_int(ds, 'Rows', path)
    columns = _header_int(ds, 'Columns', path)
    if not rows or not columns:
        raise ReleaseError(
            f'{path}: DICOM header has no image size (Rows={rows}, '
            f'Columns={columns}); the file is truncated or not an image: '
            'copy it again from the release')
    samples = _header_int(ds, 'SamplesPerPixel', path, 1)
    frames = _header_int(ds, 'NumberOfFrames', path, 1)
    bits_alloc = _header_int(ds, 'BitsAllocated', path, 0)
    bits_stored = _header_int(ds, 'BitsStored', path, bits_alloc)
    pixel_rep = _header_int(ds, 'PixelRepresentation', path, 0)
    photometric = str(ds.get('PhotometricInterpretation', 'MONOCHROME2'))
    if samples != 1 or not photometric.startswith('MONOCHROME'):
        raise ReleaseError(
            f'{path}: {samples}-sample {photometric} image; a mammogram is '
            'single-channel MONOCHROME1/2 grayscale: this file is not one')
    if frames != 1:
        raise ReleaseError(
            f'{path}: {frames} frames (3-D or multi-frame data, e.g. '
            'tomosynthesis); only 2-D single-frame mammograms are supported: '
            'export the 2-D (synthesised or FFDM) image instead')
    if bits_alloc not in (8, 16) or not 1 < bits_stored <= bits_alloc:
        raise ReleaseError(
            f'{path}: BitsAllocated={bits_alloc or "missing"}, BitsStored='
            f'{bits_stored or "missing"}; expected 8 or 16 bits allocated '
            '(INbreast: 16, 14 stored): this is not a mammogram export this '
            'loader understands')
    meta = getattr(ds, 'file_meta', None)
    tsyntax = meta.get('TransferSyntaxUID') if meta is not None else None
    return PixelHeader(rows, columns, bits_alloc, bits_stored, pixel_rep,
                       photometric, tsyntax)


def missing_decoder(tsyntax) -> str | None:
    """Why pixel data of this transfer syntax cannot be decoded here, or
    None if a pydicom decoder plugin is installed for it.

    Args:
        tsyntax (pydicom.uid.UID | None): Transfer syntax of the file.

    Returns:
        str | None: e.g. ``"JPEG-LS Lossless Image Compression: no decoder
        installed (gdcm - requires gdcm>=3.0.10, ...)"``.
    """
    if tsyntax is None or not tsyntax.is_compressed:
        return None
    try:
        from pydicom.pixels import get_decoder
        decoder = get_decoder(tsyntax)
    except NotImplementedError:
        return f'{tsyntax.name}: pydicom has no decoder for it at all'
    except ImportError:  # pydicom < 3: let decoding tell
        return None
    if decoder.is_available:
        return None
    missing = '; '.join(getattr(decoder, 'missing_dependencies', []) or [])
    return (f'{tsyntax.name}: no decoder installed'
            + (f' ({missing})' if missing else ''))


def read_dicom_size(path: str) -> tuple[int, int]:
    """(height, width) from a DICOM header, checking that the file holds a
    decodable 2-D grayscale image, without decoding pixel data.

    The pixel data are not read (``defer_size``): their presence is checked,
    and for uncompressed files their length against Rows x Columns x
    BitsAllocated and against the file size, so a truncated copy is caught
    here, while the dataset is scanned, not in a training worker.

    Raises:
        ReleaseError: If the file is not DICOM or is truncated, lacks
            Rows/Columns or pixel data, is not a single-frame grayscale
            image of 8 or 16 bits, or is compressed with no installed
            decoder. The message names the file and the fix.
    """
    import pydicom
    from pydicom.dataelem import RawDataElement
    from pydicom.tag import Tag
    try:
        ds = pydicom.dcmread(path, defer_size=1024)
    except Exception as e:
        raise ReleaseError(
            f'{path}: cannot read the DICOM header ({type(e).__name__}: '
            f'{e}); the file is truncated or not DICOM, re-copy it from the '
            'release') from None
    elem = ds._dict.get(Tag(0x7FE00010)) if hasattr(ds, '_dict') else None
    if elem is None:
        raise ReleaseError(
            f'{path}: no pixel data (SOP class '
            f"{ds.get('SOPClassUID', 'unknown')}); the file is truncated "
            '(copy it again) or not an image (a report, plan or DICOMDIR): '
            'pass mammogram images only')
    header = check_pixel_header(ds, path)
    reason = missing_decoder(header.transfer_syntax)
    if reason is not None:
        raise ReleaseError(
            f'{path}: pixel data are compressed with {reason}; '
            f'{DECODER_HINT}')
    # Compressed or deflated data have no fixed length to check here.
    compressed = header.transfer_syntax is not None and (
        header.transfer_syntax.is_compressed
        or header.transfer_syntax.is_deflated)
    # A fresh dataset holds a RawDataElement: its value is None when
    # deferred (then the bytes left in the file are what there is) or the
    # bytes read, when shorter than defer_size.
    length = getattr(elem, 'length', None)
    value = elem.value if isinstance(elem, RawDataElement) else None
    if isinstance(value, (bytes, bytearray)):
        available = len(value)
    elif length is not None and getattr(elem, 'value_tell', None) is not None:
        available = os.path.getsize(path) - elem.value_tell
    else:
        length = None
    if not compressed and length is not None and length != 0xFFFFFFFF:
        need = header.rows * header.columns * header.bits_allocated // 8
        have = min(length, available)
        if have < need:
            raise ReleaseError(
                f'{path}: pixel data hold {have} bytes but Rows x Columns x '
                f'BitsAllocated ({header.rows} x {header.columns} x '
                f'{header.bits_allocated} bits) need {need}; the file is '
                'truncated, copy it again from the release')
    return header.rows, header.columns


def list_dicoms(folder: str,
                duplicates: dict[str, str] | None = None
                ) -> tuple[dict[str, DicomName], list[str]]:
    """Index ``AllDICOMs/`` by image key.

    Args:
        folder (str): The ``AllDICOMs`` folder.
        duplicates (dict[str, str], optional): If given, a key carried by
            more than one file is left out of the index and stored here with
            a message naming the files. Defaults to None: a duplicate
            raises.

    Returns:
        tuple: (key -> :class:`DicomName`, names that do not follow the
        release's pattern).

    Raises:
        FileNotFoundError: If the folder does not exist.
        ReleaseError: If (without ``duplicates``) two DICOM files carry the
            same key.
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(
            f'{folder}: AllDICOMs/ not found; data_root must be the release '
            'folder')
    found: dict[str, DicomName] = {}
    odd: list[str] = []
    repeated: dict[str, list[str]] = {}
    for name in sorted(os.listdir(folder)):
        if not name.lower().endswith('.dcm'):
            continue
        parts = parse_dicom_name(name)
        if parts is None:
            odd.append(name)
            continue
        parts.path = osp.join(folder, name)
        if parts.file_name in found:
            first = osp.basename(found[parts.file_name].path)
            if duplicates is None:
                raise ReleaseError(
                    f'{folder}: duplicate image key {parts.file_name} in '
                    f'{first} and {name}; remove the copy')
            repeated.setdefault(parts.file_name, [first]).append(name)
            continue
        found[parts.file_name] = parts
    for key, names in repeated.items():
        del found[key]
        duplicates[key] = (
            f'{folder}: image key {key} in {len(names)} files {names}; the '
            'image is left out: remove the copies')
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
        strict (bool): Raise on the first broken file or duplicate key
            instead of skipping the image and recording the error.
            Defaults to False.
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

    report = ScanReport()
    report.xml_without_csv = sorted(k for k in xml_keys if k not in csv_keys)
    report.dicom_without_csv = sorted(
        k for k in list(dicoms) + list(dup_files or {}) if k not in csv_keys)
    for name in odd_dicoms:
        report.skip('DICOM name not <key>_<hash>_MG_<L|R>_<view>_ANON.dcm', name)

    if keys is None:
        selected = csv_keys
    else:
        missing = [k for k in keys if k not in csv_keys]
        if missing:
            raise ReleaseError(
                f'{csv_path}: the split lists {len(missing)} key(s) that are '
                f'not in the CSV: {missing[:10]}; the split was written for '
                'another release')
        selected = list(keys)
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
