"""BaseMammoDataset: what every mammography release shares.

A release reader (INbreast, VinDr-Mammo, a third one) implements one method,
:meth:`BaseMammoDataset.scan`, that turns the release's files into
:class:`MammoRecord` s and a :class:`ScanReport`; this base does the rest:

- the summary line (images listed / read / negative / skipped by reason,
  boxes per class, patients) and one line per problem, each naming the file
  and the row;
- negatives kept (``filter_data`` drops nothing unless ``filter_cfg`` says
  so, and nothing in ``test_mode``);
- the patient key for grouped splits (``patient_id``: INbreast's patient
  hash, VinDr-Mammo's ``study_id``);
- BI-RADS (``birads``, ``birads_category``) and density (``density``,
  ``'A'``-``'D'``) in every data info;
- the checks at the door (:meth:`check_door`, before anything is read) and
  of the image header against the size the annotations assume, when an
  image is first loaded (:meth:`prepare_data`) and on demand
  (:meth:`verify`);
- ``strict=True``: the first problem raises an :class:`InputError`
  subclass instead of being skipped and reported.
"""
from __future__ import annotations

import gc
import os.path as osp
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, NamedTuple, Sequence

from mmdet.datasets import BaseDetDataset
from mmengine.logging import print_log

from ..utils.errors import InputError
from .malignancy import MalignancyRule
from .samplers import seed_sample

#: Palette cycled over the classes (mmdet's visualiser needs one per class).
PALETTE = [(220, 20, 60), (0, 128, 255), (0, 200, 0), (255, 160, 0),
           (160, 32, 240), (0, 200, 200), (255, 0, 255), (128, 128, 0),
           (128, 0, 0), (0, 0, 128)]


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
class MammoRecord:
    """One usable image of a release, release-independent.

    It has the attributes the split functions of
    :mod:`~mmdet_inbreast.datasets.splits` read (``file_name``,
    ``patient_id``, ``boxes``), so grouped splits work on any release.

    Attributes:
        file_name (str): The image key of the release (INbreast: 8 digits;
            VinDr-Mammo: ``image_id``).
        patient_id (str): The grouping key of splits (VinDr-Mammo:
            ``study_id``).
        img_path (str): The DICOM file.
        height, width (int): Image size the boxes refer to (pixels).
        laterality (str): ``'L'`` or ``'R'``.
        view (str): ``'CC'``, ``'MLO'`` (INbreast: ``'ML'``).
        birads (str | None): Image (breast) BI-RADS, normalised (``'4a'``).
        birads_category (int | None): Its number.
        density (str | None): Breast density ``'A'``-``'D'``.
        img_id (int): mmdet's ``img_id``, unique in the release.
        boxes (list[MammoBox]): Boxes of the selected classes.
        source (str): ``<file>:<line>`` of the annotation row, for messages.
        extra (dict): Release-specific keys added to the data info as they
            are (VinDr-Mammo: ``study_id``, ``series_id``, ``split``).
    """
    file_name: str
    patient_id: str
    img_path: str
    height: int
    width: int
    laterality: str
    view: str
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


class BaseMammoDataset(BaseDetDataset):
    """Base of the mammography datasets; subclasses implement :meth:`scan`.

    Each data info has mmdet's keys ``img_path``, ``img_id``, ``height``,
    ``width``, ``instances`` (``bbox`` = [x1, y1, x2, y2] in
    original-image pixels, ``bbox_label``, ``ignore_flag``) and the domain
    keys ``file_name``, ``patient_id``, ``laterality``, ``view``,
    ``birads``, ``birads_category``, ``density``, ``source`` plus the
    release's ``extra`` keys.

    Args:
        ann_file (str, optional): A split file of image keys, relative to
            ``data_root`` unless absolute. Empty or None: all images.
            Defaults to ''.
        strict (bool): Raise on the first problem instead of skipping and
            reporting. Defaults to False.
        malignancy (dict | MalignancyRule, optional): BI-RADS -> malignancy
            for ``benign_*`` / ``malignant_*`` classes (see
            :class:`~mmdet_inbreast.datasets.malignancy.MalignancyRule`).
            Defaults to None (4a and above malignant, 2-3 benign).
        check_header_on_load (bool): Compare the loaded image's shape with
            the data info's ``height``/``width`` the first time each image
            is loaded; a mismatch is logged once (``strict``: raised).
            Defaults to True.
        **kwargs: Passed to :class:`mmdet.datasets.BaseDetDataset`.
    """

    METAINFO = dict(classes=('mass', ), palette=PALETTE[:1])
    #: What a ``patient_id`` is, in the summary line.
    patient_word = 'patients'
    #: The InputError subclass of this release's problems.
    error_type: type = InputError

    def __init__(self, *args, ann_file: str | None = '',
                 strict: bool = False,
                 malignancy: dict | MalignancyRule | None = None,
                 check_header_on_load: bool = True, **kwargs) -> None:
        self.strict = strict
        self.malignancy = MalignancyRule.build(malignancy)
        self.check_header_on_load = check_header_on_load
        self.header_mismatches: dict[int, str] = {}
        self._shape_checked: set[int] = set()
        self.scan_report = ScanReport()
        self.scan_summary = ''
        super().__init__(*args, ann_file=ann_file or '', **kwargs)

    @classmethod
    def _load_metainfo(cls, metainfo: dict | None = None) -> dict:
        """mmdet's metainfo, with a palette as long as the classes."""
        meta = super()._load_metainfo(metainfo)
        classes = tuple(meta.get('classes', ()))
        if len(meta.get('palette') or []) < len(classes):
            meta['palette'] = [PALETTE[i % len(PALETTE)]
                               for i in range(len(classes))]
        return meta

    # -------------------------------------------------------- for subclasses
    def check_door(self) -> None:
        """Checks before anything is read; raise an :class:`InputError`
        naming the file and the fix. The base checks that ``data_root`` is
        a folder."""
        root = self.data_root or ''
        if root and not osp.isdir(root):
            raise self.error_type(
                f'{root}: data_root is not a folder; set data_root (or '
                '--cfg-options data_root=DIR) to the release folder')

    def scan(self, report: ScanReport) -> list[MammoRecord]:
        """Read the release; record problems in ``report``.

        Args:
            report (ScanReport): Fill ``listed``, ``skipped``, ``problems``
                and ``counts``; its :meth:`~ScanReport.problem` raises when
                ``strict``.

        Returns:
            list[MammoRecord]: The usable images, in release order.
        """
        raise NotImplementedError

    def describe_split(self) -> str:
        """Which images were asked for, for the summary line."""
        return osp.basename(self.ann_file) if self.ann_file else 'all'

    def new_report(self) -> ScanReport:
        """The empty report :meth:`scan` fills (kept as
        ``dataset.scan_report``). A release with a report of its own
        (INbreast: point ROIs, unknown ROI names, orphan files) returns it
        here and formats it in :meth:`format_scan_summary`."""
        return ScanReport(strict=self.strict, error_type=self.error_type)

    def format_scan_summary(self, records: Sequence[MammoRecord],
                            report: ScanReport) -> str:
        """The summary line and the problem lines logged after a build
        (kept as ``dataset.scan_summary``); :func:`format_summary` by
        default."""
        return format_summary(records, report, self.metainfo['classes'],
                              self.patient_word)

    # ------------------------------------------------------------ mmdet API
    def load_data_list(self) -> list[dict]:
        """Check the door, scan, log the summary, and return one data info
        per usable image.

        Returns:
            list[dict]: Data infos in release (or split file) order.
        """
        self.check_door()
        report = self.new_report()
        classes = tuple(self.metainfo['classes'])
        self._cat2label = {c: i for i, c in enumerate(classes)}
        # Tens of thousands of small objects and no reference cycles: the
        # cyclic garbage collector would only rescan them over and over
        # (a third of the build time of 20,000 images).
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            records = self.scan(report)
            self.scan_report = report
            summary = self.format_scan_summary(records, report)
            self.scan_summary = summary
            norm = self.describe_normalisation()
            if norm:
                summary += '\n' + norm
            print_log(f'{type(self).__name__}({self.data_root!r}, split='
                      f'{self.describe_split()}): {summary}',
                      logger='current')
            return [self.parse_data_info(r) for r in records]
        finally:
            if gc_was_enabled:
                gc.enable()

    def describe_normalisation(self) -> str:
        """Which statistics the pipeline normalises with (one line, or ''
        without a normalising transform), so that the log of a
        cross-dataset run shows whose statistics the test data get."""
        lines = []
        for t in getattr(self.pipeline, 'transforms', []):
            if hasattr(t, 'background_value') and hasattr(t, 'mean'):
                source = getattr(t, 'stats_file', None) or 'explicit values'
                lines.append(f'pixels normalised by {type(t).__name__} with '
                             f'mean {t.mean:.4g}, std {t.std:.4g} from '
                             f'{source}')
        return '; '.join(lines)

    def parse_data_info(self, raw_data_info: MammoRecord) -> dict[str, Any]:
        """Turn a :class:`MammoRecord` into mmdet's data info dict.

        Args:
            raw_data_info (MammoRecord): One image.

        Returns:
            dict: The data info (keys listed in the class docstring).
        """
        r = raw_data_info
        cat2label = getattr(self, '_cat2label', None) or {
            c: i for i, c in enumerate(self.metainfo['classes'])}
        instances = [
            dict(bbox=[float(v) for v in b.bbox],
                 bbox_label=cat2label[b.label], ignore_flag=int(b.ignore))
            for b in r.boxes
        ]
        info = dict(
            img_path=r.img_path,
            img_id=r.img_id,
            file_name=r.file_name,
            patient_id=r.patient_id,
            laterality=r.laterality,
            view=r.view,
            birads=r.birads,
            birads_category=r.birads_category,
            density=r.density,
            height=r.height,
            width=r.width,
            source=r.source,
            instances=instances)
        info.update(r.extra)
        return info

    def filter_data(self) -> list[dict]:
        """Keep every image (negatives too) unless ``filter_cfg`` says
        ``filter_empty_gt=True`` or sets ``min_size``; in ``test_mode``
        nothing is filtered.

        Returns:
            list[dict]: The kept data infos.
        """
        if self.test_mode or not self.filter_cfg:
            return self.data_list
        filter_empty_gt = self.filter_cfg.get('filter_empty_gt', False)
        min_size = self.filter_cfg.get('min_size', 0)
        kept = []
        for info in self.data_list:
            if filter_empty_gt and not any(
                    not i['ignore_flag'] for i in info['instances']):
                continue
            if min(info['width'], info['height']) < min_size:
                continue
            kept.append(info)
        return kept

    def prepare_data(self, idx: int) -> Any:
        """The pipeline's output for ``idx``; the first time an image is
        loaded, its shape (``ori_shape`` of the packed sample) is compared
        with ``height``/``width`` of its data info."""
        results = super().prepare_data(idx)
        if self.check_header_on_load and results is not None:
            self._check_loaded_shape(idx, results)
        return results

    def _check_loaded_shape(self, idx: int, results: dict) -> None:
        sample = results.get('data_samples') if isinstance(results,
                                                           dict) else None
        shape = (sample.metainfo.get('ori_shape')
                 if sample is not None else results.get('ori_shape'))
        if shape is None or idx in self._shape_checked:
            return
        message = _size_mismatch(self.get_data_info(idx), shape)
        if message is None:
            self._shape_checked.add(idx)
            return
        if self.strict:
            raise self.error_type(message)
        self.header_mismatches[idx] = message
        self._shape_checked.add(idx)
        print_log(message, logger='current', level=30)

    def verify(self, progress: Callable[[Iterable], Iterable] | None = None
               ) -> list[str]:
        """Read every image's DICOM header (no pixels) and compare it with
        the annotation's size: the explicit check that building from the
        CSVs leaves out.

        Args:
            progress (callable, optional): Wraps the iterable (``tqdm``).

        Returns:
            list[str]: One line per disagreeing or unreadable image.
        """
        return verify_headers(
            (self.get_data_info(i) for i in range(len(self))), progress)

    def __getitem__(self, idx: int) -> dict:
        """The pipeline's output for ``idx``, its random transforms seeded
        first when ``idx`` carries a seed (:class:`SeededSampler`)."""
        return super().__getitem__(seed_sample(idx))
