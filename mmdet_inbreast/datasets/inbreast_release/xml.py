"""``AllXML/<key>.xml``: OsiriX plist ROI exports."""
from __future__ import annotations

import plistlib
import re
from dataclasses import dataclass

import numpy as np

from .errors import ReleaseError
from .names import lesion_type

#: ROIs with at most this many points are point annotations, never boxes.
MAX_POINT_ROI_POINTS = 2

#: Tolerance (pixels) for ``Point_px`` just outside the image; such points are
#: clipped to the image, points further out are an error.
POINT_TOLERANCE_PX = 1.0

_POINT_RE = re.compile(
    r'^\(\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*,\s*'
    r'([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(?:,[^)]*)?\)$')


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
        """True for 0-2 point ROIs (calcifications): they have no area."""
        return len(self.points) <= MAX_POINT_ROI_POINTS

    @property
    def bbox(self) -> list[float]:
        """[x1, y1, x2, y2]: min/max of the polygon's points, pixels."""
        x1, y1 = self.points.min(axis=0)
        x2, y2 = self.points.max(axis=0)
        return [float(x1), float(y1), float(x2), float(y2)]


def _parse_point(s: str, path: str) -> tuple[float, float]:
    m = _POINT_RE.match(str(s).strip())
    if m is None:
        raise ReleaseError(
            f"{path}: Point_px entry {s!r} is not '(x, y)'; is this an "
            'OsiriX ROI export?')
    return float(m.group(1)), float(m.group(2))


def read_xml(path: str,
             height: int | None = None,
             width: int | None = None,
             dicom_path: str | None = None) -> list[Roi]:
    """Read the ROIs of one OsiriX plist XML file.

    Entity declarations are refused before parsing (never expanded), so a
    hostile file cannot blow up memory.

    Args:
        path (str): Path of ``AllXML/<key>.xml``.
        height (int, optional): Image height (pixels). When given with
            ``width``, points are checked against the image: points up to
            :data:`POINT_TOLERANCE_PX` outside are clipped, further is an
            error.
        width (int, optional): Image width (pixels). When given with
            ``height``, the ``ImageHeight``/``ImageWidth`` of the XML (where
            it has them) must equal them.
        dicom_path (str, optional): The DICOM the size comes from, named in
            the size-mismatch message.

    Returns:
        list[Roi]: The ROIs in file order.

    Raises:
        ReleaseError: On malformed or non-plist XML, entity declarations,
            an unexpected structure, a bad ``Point_px`` entry,
            ``NumberOfPoints`` disagreeing with the points, an
            ``ImageHeight``/``ImageWidth`` other than ``height``/``width``
            (e.g. Rows and Columns swapped in the DICOM header), or points
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
        if height is not None and width is not None:
            _check_image_size(image, height, width, path, dicom_path)
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
            if len(points) and height is not None and width is not None:
                points = _check_points(points, height, width, path, i, name)
            rois.append(Roi(name=name, lesion=lesion_type(name), points=points))
    return rois


def _short(value: object, limit: int = 60) -> str:
    """``repr`` of a value, cut to ``limit`` characters for messages."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + '...'


def _check_image_size(image: dict, height: int, width: int, path: str,
                      dicom_path: str | None) -> None:
    """The XML's ``ImageHeight``/``ImageWidth`` (where present) must be the
    DICOM's Rows/Columns."""
    xml_h, xml_w = image.get('ImageHeight'), image.get('ImageWidth')
    if not isinstance(xml_h, int) or not isinstance(xml_w, int):
        return
    if (xml_h, xml_w) == (height, width):
        return
    dicom = dicom_path or 'the DICOM'
    swapped = (xml_h, xml_w) == (width, height)
    raise ReleaseError(
        f'{path}: ImageHeight x ImageWidth = {xml_h} x {xml_w} but {dicom} '
        f'has Rows x Columns = {height} x {width}'
        + ('; Rows and Columns are swapped in the DICOM header'
           if swapped else '; the XML belongs to another image')
        + ', copy both files again from the release')


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


