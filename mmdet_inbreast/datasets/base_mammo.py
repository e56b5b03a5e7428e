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
from dataclasses import fields
from typing import Any, Callable, Iterable, Sequence

from mmdet.datasets import BaseDetDataset
from mmengine.logging import print_log

from ..utils.errors import InputError
from .malignancy import MalignancyRule
from .records import (MammoBox, MammoRecord, ScanReport, _size_mismatch,
                      format_summary, read_key_file, verify_headers)
from .samplers import seed_sample

#: The :class:`MammoRecord` fields every data info has as they are (the
#: boxes become ``instances``; ``extra`` is merged in).
INFO_KEYS = tuple(f.name for f in fields(MammoRecord)
                  if f.name not in ('boxes', 'extra'))

__all__ = ['BaseMammoDataset', 'MammoBox', 'MammoRecord', 'ScanReport',
           'format_summary', 'read_key_file', 'verify_headers', 'PALETTE']

#: Palette cycled over the classes (mmdet's visualiser needs one per class).
PALETTE = [(220, 20, 60), (0, 128, 255), (0, 200, 0), (255, 160, 0),
           (160, 32, 240), (0, 200, 200), (255, 0, 255), (128, 128, 0),
           (128, 0, 0), (0, 0, 128)]


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
        info = {key: getattr(r, key) for key in INFO_KEYS}
        info['instances'] = instances
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
