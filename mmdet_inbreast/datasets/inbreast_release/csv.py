"""``INbreast.csv``: one ';'-separated row per image."""
from __future__ import annotations

import csv
import os.path as osp
import re
from dataclasses import dataclass

from .errors import ReleaseError

CSV_COLUMNS = ('Patient ID', 'Patient age', 'Laterality', 'View',
               'Acquisition date', 'File Name', 'ACR', 'Bi-Rads')
_REQUIRED_CSV_COLUMNS = ('Laterality', 'View', 'File Name', 'ACR', 'Bi-Rads')


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


