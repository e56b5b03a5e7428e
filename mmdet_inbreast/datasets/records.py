"""The records a release scan produces, its report and the split file.

Plain data, no mmdet: :class:`MammoBox`, :class:`ImageInfo` (what every
release's image record has), :class:`MammoRecord` (the release-independent
record :class:`~.base_mammo.BaseMammoDataset` turns into data infos),
:class:`ScanReport` (skipped images and problem lines) with
:func:`format_summary`, :func:`read_key_file` (one image key a line) and
:func:`verify_headers` (DICOM header size against the annotations).
"""
from __future__ import annotations

import os.path as osp
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, NamedTuple, Sequence

from ..utils.errors import InputError


class MammoBox(NamedTuple):
    """One ground-truth box of a record.

    Attributes:
        bbox (list[float]): x1, y1, x2, y2 in original-image pixels.
        label (str): The class name (one of the dataset's ``classes``).
        ignore (bool): An ``ignore_flag=1`` instance (e.g. a mass of unknown
            malignancy, see :mod:`~mmdet_inbreast.datasets.malignancy`).
    """
    bbox: list
    label: str
    ignore: bool = False


@dataclass
class ImageInfo:
    """What an image record of any release has: its key, patient, file,
    size and view.

    It has the attributes the split functions of
    :mod:`~mmdet_inbreast.datasets.splits` read (``file_name``,
    ``patient_id``; subclasses add ``boxes``), so grouped splits work on
    any release.

    Attributes:
        file_name (str): The image key of the release (INbreast: 8 digits;
            VinDr-Mammo: ``image_id``).
        patient_id (str): The grouping key of splits (INbreast: the 16-hex
            patient hash; VinDr-Mammo: ``study_id``).
        img_path (str): The DICOM file.
        height, width (int): Image size the boxes refer to (pixels).
        laterality (str): ``'L'`` or ``'R'``.
        view (str): ``'CC'``, ``'MLO'`` (INbreast: ``'ML'``).
    """
    file_name: str
    patient_id: str
    img_path: str
    height: int
    width: int
    laterality: str
    view: str


@dataclass
class MammoRecord(ImageInfo):
    """One usable image of a release, release-independent: what
    :class:`~.base_mammo.BaseMammoDataset` turns into a data info.

    Attributes:
        (those of :class:`ImageInfo`, then)
        birads (str | None): Image (breast) BI-RADS, normalised (``'4a'``).
        birads_category (int | None): Its number.
        density (str | None): Breast density ``'A'``-``'D'``.
        img_id (int): mmdet's ``img_id``, unique in the release.
        boxes (list[MammoBox]): Boxes of the selected classes.
        source (str): ``<file>:<line>`` of the annotation row, for messages.
        extra (dict): Release-specific keys added to the data info as they
            are (VinDr-Mammo: ``study_id``, ``series_id``, ``split``).
    """
    birads: str | None
    birads_category: int | None
    density: str | None
    img_id: int
    boxes: list = field(default_factory=list)
    source: str = ''
    extra: dict = field(default_factory=dict)


@dataclass
class ScanReport:
    """What a scan saw besides the usable images.

    Attributes:
        listed (int): Images selected by the split, before skipping.
        skipped (dict[str, list[str]]): Reason -> image keys not read.
        problems (list[str]): One line per problem (file, row, what is
            wrong, the fix), skipped images and kept ones alike.
        counts (Counter): Things kept but worth a number in the summary
            (``'boxes of unknown malignancy (ignore_flag)'``, ...).
        errors (dict[str, str]): Image key -> the full error, for skipped
            images that have one (a DICOM that does not decode).
        strict (bool): :meth:`problem` raises instead of recording.
        error_type (type): The :class:`InputError` subclass raised.
    """
    listed: int = 0
    skipped: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    errors: dict = field(default_factory=dict)
    strict: bool = False
    error_type: type = InputError

    def problem(self, message: str, skip: str | None = None,
                reason: str | None = None) -> None:
        """Record one problem, or raise it when strict.

        Args:
            message (str): One line: file, row, what is wrong, the fix.
            skip (str, optional): Key of the image left out because of it.
            reason (str, optional): Short reason for the summary line
                (required with ``skip``).
        """
        if self.strict:
            raise self.error_type(message)
        self.problems.append(message)
        if skip is not None:
            self.skip(reason or 'problem', skip)

    def skip(self, reason: str, key: str, error: str | None = None) -> None:
        """Record that image ``key`` was not read, and why (``error``: the
        full error, kept in :attr:`errors`)."""
        keys = self.skipped.setdefault(reason, [])
        if key not in keys:
            keys.append(key)
        if error is not None:
            self.errors[key] = error

    @property
    def num_skipped(self) -> int:
        """int: Images skipped, each once."""
        return len({k for v in self.skipped.values() for k in v})


def format_summary(records: Sequence[MammoRecord], report: ScanReport,
                   classes: Iterable[str], patient_word: str = 'patients',
                   max_problems: int = 20) -> str:
    """The summary line of a scan, then one line per problem.

    Example::

        8 images listed, 7 read, 4 negative, 1 skipped (1 CSV row without
        DICOM: 3f2a...), 3 mass, 0 ignored, 2 studies

    Args:
        records (Sequence[MammoRecord]): The usable images.
        report (ScanReport): The scan's report.
        classes (Iterable[str]): Class names, in order.
        patient_word (str): What a ``patient_id`` is called.
        max_problems (int): Problem lines shown (the rest are counted).

    Returns:
        str: The summary, ``'\\n'``-separated.
    """
    n_boxes = Counter(b.label for r in records for b in r.boxes
                      if not b.ignore)
    ignored = sum(1 for r in records for b in r.boxes if b.ignore)
    negatives = sum(1 for r in records
                    if not any(not b.ignore for b in r.boxes))
    reasons = '; '.join(f'{len(v)} {reason}: {", ".join(v[:5])}'
                        + (' ...' if len(v) > 5 else '')
                        for reason, v in report.skipped.items())
    boxes = ', '.join(f'{n_boxes[c]} {c}' for c in classes)
    line = (f'{report.listed} images listed, {len(records)} read, '
            f'{negatives} negative, {report.num_skipped} skipped'
            + (f' ({reasons})' if reasons else '')
            + f', {boxes}, {ignored} ignored, '
            f'{len({r.patient_id for r in records})} {patient_word}')
    if report.counts:
        line += '; ' + ', '.join(f'{n} {what}'
                                 for what, n in report.counts.items())
    lines = [line] + report.problems[:max_problems]
    if len(report.problems) > max_problems:
        lines.append(f'... and {len(report.problems) - max_problems} more '
                     'problems (dataset.scan_report.problems lists all)')
    return '\n'.join(lines)


def read_key_file(path: str, key_pattern: str = r'[0-9A-Za-z._-]+',
                  what: str = 'image key',
                  fix: str = 'write it with tools/split_patients.py'
                  ) -> list[str]:
    """Read a split file: one image key a line; blank lines and ``#``
    comments are ignored.

    Args:
        path (str): The split file.
        key_pattern (str): Regular expression a key must match in full.
        what (str): What a key is, for messages.
        fix (str): How to write the file, for messages.

    Returns:
        list[str]: The keys in file order.

    Raises:
        InputError: If the file is missing, a line is not a key, a key
            repeats or there is none.
    """
    if not osp.isfile(path):
        raise InputError(f'{path}: split file not found; {fix}, or set '
                         'ann_file=None for all images')
    keys: list[str] = []
    seen: set[str] = set()
    with open(path) as f:
        for line_no, line in enumerate(f, 1):
            key = line.split('#', 1)[0].strip()
            if not key:
                continue
            if not re.fullmatch(key_pattern, key):
                raise InputError(f'{path}:{line_no}: {key!r} is not an '
                                 f'{what}; {fix}')
            if key in seen:
                raise InputError(f'{path}:{line_no}: {what} {key} repeats; '
                                 'remove the second line')
            seen.add(key)
            keys.append(key)
    if not keys:
        raise InputError(f'{path}: the split lists no images; {fix}')
    return keys


def check_split_keys(keys: Sequence[str], known, where: str, listed_in: str,
                     error_type: type = InputError) -> list[str]:
    """The keys a split file lists, each checked against the release.

    Args:
        keys (Sequence[str]): From :func:`read_key_file`.
        known (Container[str]): The release's image keys.
        where (str): The file named in the message.
        listed_in (str): Where the release lists its images, for the
            message (``'the CSV'``).
        error_type (type): The :class:`InputError` subclass raised.

    Returns:
        list[str]: ``keys``, as a list.

    Raises:
        InputError: If a key is not the release's.
    """
    missing = [k for k in keys if k not in known]
    if missing:
        raise error_type(
            f'{where}: the split lists {len(missing)} key(s) that are not '
            f'in {listed_in}: {missing[:10]}; the split was written for '
            'another release: rewrite it with tools/split_patients.py')
    return list(keys)


def verify_headers(infos: Iterable[dict],
                   progress: Callable[[Iterable], Iterable] | None = None
                   ) -> list[str]:
    """Compare each image's DICOM header with the size its annotations
    assume, reading headers only (no pixel data).

    Args:
        infos (Iterable[dict]): Data infos with ``img_path``, ``height``,
            ``width`` and optionally ``source`` (``file:line``).
        progress (callable, optional): Wraps the iterable (e.g. ``tqdm``).

    Returns:
        list[str]: One line per image whose header disagrees or cannot be
        read; empty when all agree.
    """
    from .dicom import read_dicom_size
    from .inbreast_release import ReleaseError
    problems = []
    infos = list(infos)
    for info in (progress(infos) if progress else infos):
        try:
            rows, cols = read_dicom_size(info['img_path'])
        except ReleaseError as e:
            problems.append(str(e))
            continue
        message = _size_mismatch(info, (rows, cols))
        if message:
            problems.append(message)
    return problems


def _size_mismatch(info: dict, shape: Sequence[int]) -> str | None:
    """The one-line message for a header size that disagrees with the
    annotation's ``height``/``width``, or None."""
    rows, cols = int(shape[0]), int(shape[1])
    if (rows, cols) == (int(info['height']), int(info['width'])):
        return None
    source = info.get('source') or 'the annotations'
    return (f"{info['img_path']}: the DICOM is {rows} x {cols} (rows x "
            f"columns) but {source} says height {info['height']}, width "
            f"{info['width']}; the boxes may be in another frame: correct "
            'the row or re-copy the image')
