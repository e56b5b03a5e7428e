"""The annotation CSVs of VinDr-Mammo 1.0.0 (Nguyen et al., Scientific Data
10, 2023; PhysioNet, DOI 10.13026/br2v-7517)::

    <data_root>/
      breast-level_annotations.csv   one row per image
      finding_annotations.csv        one row per finding (one 'No Finding'
                                     row for an image without findings)
      images/<study_id>/<image_id>.dicom

Both CSVs are comma-separated with a header row. ``finding_categories`` is a
Python list literal in a string (``"['Mass', 'Skin Retraction']"``), parsed
with :func:`ast.literal_eval`, never ``eval``.

Class names: each category of the files maps to a snake-case class name
(:data:`CATEGORY_CLASSES`; ``'Mass'`` -> ``'mass'``, ``'Suspicious
Calcification'`` -> ``'suspicious_calcification'``); ``'No Finding'`` maps
to no class. Spellings are compared after collapsing white space and
ignoring case.

Problems go to a :class:`~mmdet_inbreast.datasets.records.ScanReport`:
one line each, naming the file and the line (1-based, the header is line
1), and in strict mode the first one raises :class:`VinDrReleaseError`.
"""
from __future__ import annotations

import ast
import csv
import math
import os.path as osp
from dataclasses import dataclass
from functools import lru_cache

from ...utils.errors import InputError
from ..malignancy import normalize_birads

BREAST_CSV = 'breast-level_annotations.csv'
FINDING_CSV = 'finding_annotations.csv'
IMAGE_DIR = 'images'

#: Category as spelled in the files -> class name (None: not a finding).
CATEGORY_CLASSES: dict[str, str | None] = {
    'Mass': 'mass',
    'Suspicious Calcification': 'suspicious_calcification',
    'Asymmetry': 'asymmetry',
    'Focal Asymmetry': 'focal_asymmetry',
    'Global Asymmetry': 'global_asymmetry',
    'Architectural Distortion': 'architectural_distortion',
    'Skin Thickening': 'skin_thickening',
    'Skin Retraction': 'skin_retraction',
    'Nipple Retraction': 'nipple_retraction',
    'Suspicious Lymph Node': 'suspicious_lymph_node',
    'No Finding': None,
}
_LOOKUP = {' '.join(k.split()).lower(): v for k, v in CATEGORY_CLASSES.items()}
_UNKNOWN = object()

IMAGE_COLUMNS = ('study_id', 'series_id', 'image_id', 'laterality',
                 'view_position', 'height', 'width')
BREAST_COLUMNS = IMAGE_COLUMNS + ('breast_birads', 'breast_density')
FINDING_COLUMNS = ('image_id', 'finding_categories', 'finding_birads',
                   'xmin', 'ymin', 'xmax', 'ymax')


class VinDrReleaseError(InputError):
    """A file of a VinDr-Mammo release that cannot be used; the message
    names the file, the row and the fix."""


def category_class(name: str) -> str | None | object:
    """Class name of a category as spelled in the files.

    Returns:
        str | None | object: The class name, None for ``'No Finding'``, or
        the module's unknown marker (test with ``is_unknown_category``).
    """
    return _LOOKUP.get(' '.join(str(name).split()).lower(), _UNKNOWN)


def is_unknown_category(value: object) -> bool:
    """True for what :func:`category_class` returns for an unknown name."""
    return value is _UNKNOWN


@lru_cache(maxsize=4096)
def parse_categories(text: str) -> tuple[str, ...]:
    """Parse ``finding_categories``: ``"['Mass', 'Skin Retraction']"`` ->
    ``('Mass', 'Skin Retraction')``.

    Raises:
        ValueError: If ``text`` is not a non-empty list (or tuple) literal
            of strings.
    """
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError,
            RecursionError):
        raise ValueError(f'{text!r} is not a Python list literal') from None
    if (not isinstance(value, (list, tuple)) or not value
            or not all(isinstance(v, str) for v in value)):
        raise ValueError(f'{text!r} is not a non-empty list of strings')
    return tuple(value)


@dataclass
class BreastRow:
    """One row of ``breast-level_annotations.csv`` (one image).

    Attributes:
        image_id, study_id, series_id (str): Hashes.
        laterality (str): ``'L'`` / ``'R'``. view (str): ``'CC'`` / ``'MLO'``.
        height, width (int): Pixels of the DICOM image, per the CSV.
        birads (str | None): Normalised breast BI-RADS (``'4'``).
        density (str | None): ``'A'`` ... ``'D'``.
        split (str): The official split, ``'training'`` or ``'test'``.
        index (int): Position among the data rows (0-based).
        line (int): Line in the file (the header is line 1).
    """
    image_id: str
    study_id: str
    series_id: str
    laterality: str
    view: str
    height: int
    width: int
    birads: str | None
    density: str | None
    split: str
    index: int
    line: int


@dataclass
class FindingRow:
    """One row of ``finding_annotations.csv``.

    Attributes:
        image_id (str): The image.
        categories (tuple[str, ...]): As spelled in the file.
        birads (str | None): Normalised ``finding_birads`` (``'4'``).
        box (tuple[float, float, float, float] | None): xmin, ymin, xmax,
            ymax in original-image pixels; None when the row has none.
        line (int): Line in the file.
    """
    image_id: str
    categories: tuple
    birads: str | None
    box: tuple | None
    line: int


def _open_rows(path: str, required: tuple[str, ...]):
    """(header index, rows with line numbers) of a CSV, or raise."""
    if not osp.isfile(path):
        raise VinDrReleaseError(
            f'{path}: not found; data_root must be the VinDr-Mammo release '
            f'folder that holds {BREAST_CSV}, {FINDING_CSV} and '
            f'{IMAGE_DIR}/')
    with open(path, newline='', encoding='utf-8-sig') as f:
        rows = list(csv.reader(f))
    if not rows:
        raise VinDrReleaseError(f'{path}: the CSV is empty')
    header = [c.strip() for c in rows[0]]
    index = {name: i for i, name in enumerate(header)}
    missing = [c for c in required if c not in index]
    if missing:
        raise VinDrReleaseError(
            f'{path}: header lacks column(s) {missing} (has {header}); is '
            'this a VinDr-Mammo 1.0.0 annotation file?')
    width = len(header)
    return index, [(i + 1, r if len(r) >= width else r + [''] *
                    (width - len(r)))
                   for i, r in enumerate(rows) if i > 0 and any(r)]


def _positive_int(text: str) -> int | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value > 0 and value == int(value) else None


def read_breast_csv(path: str, report
                    ) -> tuple[dict[str, BreastRow], dict[str, str]]:
    """Read ``breast-level_annotations.csv``.

    A row with an empty ``image_id`` or a bad ``height``/``width`` is
    reported and left out; an ``image_id`` on several rows is reported
    naming the lines, and the image is left out (which row is right cannot
    be told).

    Args:
        path (str): The CSV.
        report (ScanReport): Receives the problems (raises when strict).

    Returns:
        tuple: (image_id -> row, in file order; image_id -> its ``split``
        value for every image_id of the file, left-out rows included).

    Raises:
        VinDrReleaseError: Missing file or columns; any problem when the
            report is strict.
    """
    index, rows = _open_rows(path, BREAST_COLUMNS)
    has_split = 'split' in index
    records: dict[str, BreastRow] = {}
    repeated: dict[str, list[int]] = {}
    splits: dict[str, str] = {}
    for n, (line, row) in enumerate(rows):
        def get(col: str) -> str:
            return row[index[col]].strip()
        image_id = get('image_id')
        if image_id:
            splits.setdefault(image_id, get('split') if has_split else '')
        if not image_id or not get('study_id'):
            report.problem(f'{path}:{line}: empty image_id or study_id; '
                           'fix or remove the row')
            continue
        height, width = _positive_int(get('height')), _positive_int(
            get('width'))
        if height is None or width is None:
            report.problem(
                f"{path}:{line}: height {get('height')!r} / width "
                f"{get('width')!r} are not positive integers; fix the row "
                '(the DICOM header has Rows / Columns)', skip=image_id,
                reason='bad CSV row')
            continue
        if image_id in records or image_id in repeated:
            first = records.pop(image_id).line if image_id in records else None
            repeated.setdefault(image_id, [first]).append(line)
            continue
        density = get('breast_density').upper().replace('DENSITY', '').strip()
        records[image_id] = BreastRow(
            image_id=image_id, study_id=get('study_id'),
            series_id=get('series_id'), laterality=get('laterality').upper(),
            view=get('view_position').upper(), height=height, width=width,
            birads=normalize_birads(get('breast_birads')),
            density=density or None,
            split=get('split') if has_split else '', index=n, line=line)
    for image_id, lines in repeated.items():
        report.problem(
            f'{path}: image_id {image_id} on lines {lines}; the image is left '
            'out: remove all but one of these rows', skip=image_id,
            reason='duplicate CSV row')
    return records, splits


def read_finding_csv(path: str, report) -> tuple[dict[str, list[FindingRow]],
                                                 dict[str, str]]:
    """Read ``finding_annotations.csv``.

    A repeated row (every column equal) is reported and read once. A row
    whose ``finding_categories`` is not a list literal of strings, or whose
    box is malformed (a coordinate that is not a number, only some of the
    four given), makes its image unusable: the image is returned in the
    second dict.

    Args:
        path (str): The CSV.
        report (ScanReport): Receives the problems (raises when strict).

    Returns:
        tuple: (image_id -> its finding rows in file order, image_id ->
        the reason the image cannot be used).

    Raises:
        VinDrReleaseError: Missing file or columns; any problem when the
            report is strict.
    """
    index, rows = _open_rows(path, FINDING_COLUMNS)
    findings: dict[str, list[FindingRow]] = {}
    broken: dict[str, str] = {}
    seen: dict[tuple, int] = {}

    def refuse(line: int, image_id: str, what: str, reason: str) -> None:
        # The row's image becomes unusable.
        report.problem(f'{path}:{line}: {what}', skip=image_id, reason=reason)
        broken.setdefault(image_id, reason)

    for line, row in rows:
        def get(col: str) -> str:
            return row[index[col]].strip()
        image_id = get('image_id')
        cells = tuple(row)
        if cells in seen:
            report.problem(
                f'{path}:{line}: repeats line {seen[cells]} exactly; read '
                'once: remove the copy')
            continue
        seen[cells] = line
        if not image_id:
            report.problem(f'{path}:{line}: empty image_id; fix or remove '
                           'the row')
            continue
        try:
            categories = parse_categories(get('finding_categories'))
        except ValueError as e:
            refuse(line, image_id, f"finding_categories {e}; write it as in "
                   "the release, e.g. \"['Mass']\"",
                   'malformed finding_categories')
            continue
        coords = [get(c) for c in ('xmin', 'ymin', 'xmax', 'ymax')]
        box = None
        if any(coords):
            try:
                box = tuple(float(c) for c in coords)
                if all(math.isnan(v) for v in box):  # NaN as pandas writes it
                    box = None
                elif not all(math.isfinite(v) for v in box):
                    raise ValueError
            except ValueError:
                refuse(line, image_id, f'box {coords} is not four numbers '
                       '(xmin, ymin, xmax, ymax); fix the row',
                       'malformed box')
                continue
        findings.setdefault(image_id, []).append(FindingRow(
            image_id=image_id, categories=categories,
            birads=normalize_birads(get('finding_birads')), box=box,
            line=line))
    return findings, broken
