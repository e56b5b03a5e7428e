"""INbreastDataset: the INbreast release, read as it ships."""
from __future__ import annotations

import os.path as osp
from types import SimpleNamespace
from typing import Sequence

from mmdet.registry import DATASETS

from .base_mammo import BaseMammoDataset
from .records import MammoBox, MammoRecord
from .dicom import DEFAULT_MODALITIES
from .inbreast_release import (LESION_NAMES, ImageRecord, ReleaseError,
                               ScanReport, format_report, scan_release)
from .malignancy import (MalignancyRule, box_labels, normalize_birads,
                         split_class_name)
from .splits import read_split_file

#: ``INbreast.csv``'s ACR breast composition (1-4) as the letters of BI-RADS
#: 5th edition (``'A'``-``'D'``), the ``density`` of the data info.
ACR_DENSITY = {1: 'A', 2: 'B', 3: 'C', 4: 'D'}


@DATASETS.register_module()
class INbreastDataset(BaseMammoDataset):
    """The INbreast full-field digital mammography release.

    Reads ``INbreast.csv``, ``AllXML/*.xml`` (OsiriX plists) and the headers
    of ``AllDICOMs/*.dcm`` from ``data_root`` exactly as the release ships
    them, through the one scan of the release
    (:func:`~mmdet_inbreast.datasets.inbreast_release.scan_release`), which
    checks every DICOM at the door (modality, one 2-D grayscale frame,
    pixel-data length, size against the XML, a working decoder). Pixels are
    not decoded here: :class:`LoadDicomImage` does that in the pipeline.

    What all releases share (negatives kept, ``filter_cfg``, the patient
    key, BI-RADS and density in every data info, the header check when an
    image is first loaded, :meth:`verify`, :class:`SeededSampler` seeding)
    comes from :class:`~mmdet_inbreast.datasets.base_mammo.BaseMammoDataset`.

    Each data info has mmdet's keys ``img_path``, ``img_id`` (the key as an
    int), ``height``, ``width``, ``instances`` (``bbox`` = [x1, y1, x2, y2],
    the min/max of the polygon's ``Point_px``, in original-image pixels;
    ``bbox_label``; ``ignore_flag``) and the domain keys ``file_name``
    (8-digit key), ``patient_id`` (16-hex hash from the DICOM name),
    ``laterality``, ``view`` (``'CC'``/``'ML'``), ``birads`` (normalised,
    e.g. ``'4a'``; None when blank), ``birads_category``, ``density``
    (``'A'``-``'D'`` from ``acr``), ``acr`` (1-4, as in the CSV) and
    ``source`` (the XML file of the boxes; '' for an image without XML).

    Images listed in the CSV without an XML file are negatives and are kept.
    Building the dataset logs one summary line (images listed, read,
    negative, skipped by reason, boxes per class, patients, point ROIs by
    lesion name, unknown ROI names, boxes of unknown malignancy) plus the
    files behind unknown names, orphan files and each skipped image's
    error.

    **Malignancy classes.** ``classes=('benign_mass', 'malignant_mass')``
    splits the masses by the image's ``Bi-Rads`` (INbreast gives one
    assessment per image, not per lesion) through ``malignancy``
    (:class:`~mmdet_inbreast.datasets.malignancy.MalignancyRule`): by
    default 2-3 benign, 4 (4a, 4b, 4c), 5 and 6 malignant; a mass of an
    image with BI-RADS 0, 1 or blank is an ignored instance
    (``ignore_flag=1``) of the first malignancy class, or left out with
    ``malignancy=dict(unknown='skip')``. Any lesion type takes the prefix
    (``'malignant_cluster'``), and plain and prefixed classes mix.

    Args:
        ann_file (str, optional): A split file (8-digit keys, one a line,
            written by ``tools/split_patients.py``), relative to
            ``data_root`` unless absolute. Empty or None: all images of the
            CSV. Defaults to ''.
        metainfo (dict, optional): ``classes`` are canonical lesion types
            (see :data:`~mmdet_inbreast.datasets.inbreast_release.LESION_NAMES`),
            optionally prefixed ``benign_`` / ``malignant_``: ``('mass',)``
            by default, e.g. ``('mass', 'cluster')`` or ``('benign_mass',
            'malignant_mass')``.
        strict (bool): Raise on the first broken file (truncated DICOM,
            malformed XML, another modality, a mass of fewer than 3 points,
            an unknown ROI name, ...) instead of skipping that image (or
            counting the name) and naming it in the summary. Defaults to
            False.
        allowed_modalities (Sequence[str], optional): DICOM ``Modality``
            values accepted; None accepts any. Defaults to ``('MG',)``.
        malignancy (dict | MalignancyRule, optional): BI-RADS ->
            malignancy for prefixed classes, e.g. ``dict(benign=['2', '3',
            '4a'], malignant=['4b', '4c', '5', '6'])``. Defaults to None
            (the rule above).
        **kwargs: Passed to :class:`BaseMammoDataset` (``data_root``,
            ``pipeline``, ``test_mode``, ``filter_cfg``...).

    Example:
        >>> ds = INbreastDataset(
        ...     data_root='data/INbreast Release 1.0/',
        ...     ann_file='splits/train.txt',
        ...     metainfo=dict(classes=('benign_mass', 'malignant_mass')))
    """

    METAINFO = dict(classes=('mass', ), palette=[(220, 20, 60)])
    patient_word = 'patients'
    error_type = ReleaseError

    def __init__(self, *args,
                 allowed_modalities: Sequence[str] | None = DEFAULT_MODALITIES,
                 **kwargs) -> None:
        self.allowed_modalities = (None if allowed_modalities is None else
                                   tuple(allowed_modalities))
        super().__init__(*args, **kwargs)

    # ----------------------------------------------------------- the door
    def check_door(self) -> None:
        """``data_root`` is a folder and every class is a known lesion type
        (optionally ``benign_`` / ``malignant_``); the files themselves are
        checked by the scan."""
        super().check_door()
        known = sorted(set(LESION_NAMES.values()))
        bad = [c for c in self.metainfo['classes']
               if split_class_name(c)[1] not in known]
        if bad:
            raise ReleaseError(
                f'classes {bad} are not lesion types of the name table '
                '(LESION_NAMES in datasets/inbreast_release/names.py); '
                f'known: {known}, optionally prefixed benign_ / malignant_')

    def _split_keys(self) -> list[str] | None:
        if self.ann_file and not osp.isdir(self.ann_file):
            return read_split_file(self.ann_file)
        return None

    def describe_split(self) -> str:
        """The split file's name, or 'all'."""
        if self.ann_file and not osp.isdir(self.ann_file):
            return osp.basename(self.ann_file)
        return 'all'

    # --------------------------------------------------------------- scan
    def new_report(self) -> ScanReport:
        """The release's own report
        (:class:`~mmdet_inbreast.datasets.inbreast_release.ScanReport`:
        skips with their errors, point ROIs, unknown ROI names, orphans)."""
        return ScanReport()

    def scan(self, report: ScanReport) -> list[MammoRecord]:
        """Scan the release (:func:`scan_release`) and give each box its
        class.

        Args:
            report (ScanReport): Filled by the scan; boxes of unknown
                malignancy are counted in ``report.counts``.

        Returns:
            list[MammoRecord]: In CSV (or split file) order.
        """
        classes = tuple(self.metainfo['classes'])
        lesion_types = list(dict.fromkeys(
            split_class_name(c)[1] for c in classes))
        records, _ = scan_release(
            self.data_root or '', lesion_types=lesion_types,
            keys=self._split_keys(), strict=self.strict,
            allowed_modalities=self.allowed_modalities, report=report)
        xml_dir = osp.join(self.data_root or '', 'AllXML')
        return [self._record(r, classes, report, xml_dir) for r in records]

    def _record(self, r: ImageRecord, classes: Sequence[str],
                report: ScanReport, xml_dir: str) -> MammoRecord:
        xml_path = osp.join(xml_dir, r.file_name + '.xml')
        birads = normalize_birads(r.birads)
        return MammoRecord(
            file_name=r.file_name, patient_id=r.patient_id,
            img_path=r.img_path, height=r.height, width=r.width,
            laterality=r.laterality, view=r.view, birads=birads,
            birads_category=r.birads_category,
            density=ACR_DENSITY.get(r.acr), img_id=int(r.file_name),
            boxes=image_boxes(r.boxes, birads, classes, self.malignancy,
                              report),
            source=xml_path if osp.isfile(xml_path) else '',
            extra=dict(acr=r.acr))

    def format_scan_summary(self, records: Sequence[MammoRecord],
                            report: ScanReport) -> str:
        """The release's summary (:func:`format_report`): images listed,
        read, negative, skipped by reason, boxes per class, patients, point
        ROIs, unknown ROI names, then the detail lines. Ignored boxes (of
        unknown malignancy) are counted after a ``;``, not as boxes."""
        views = [SimpleNamespace(
            patient_id=r.patient_id,
            boxes=[(b.bbox, b.label) for b in r.boxes if not b.ignore])
            for r in records]
        return format_report(views, report, self.metainfo['classes'])


def image_boxes(boxes: Sequence[tuple[list, str]], birads: str | None,
                classes: Sequence[str], rule: MalignancyRule,
                report: ScanReport) -> list[MammoBox]:
    """The boxes of one INbreast image for the dataset's classes.

    Args:
        boxes (Sequence[tuple[list, str]]): ([x1, y1, x2, y2], lesion type)
            from the scan, file order.
        birads (str | None): The image's normalised BI-RADS.
        classes (Sequence[str]): The dataset's classes.
        rule (MalignancyRule): BI-RADS -> malignancy.
        report (ScanReport): Boxes of unknown malignancy are counted in
            ``report.counts``.

    Returns:
        list[MammoBox]: In file order; a box of unknown malignancy is an
        ignored box of its first malignancy class (``rule.unknown ==
        'ignore'``) or left out (``'skip'``).
    """
    out = []
    for bbox, lesion in boxes:
        labels, unknown = box_labels({lesion}, birads, classes, rule)
        out.extend(MammoBox(list(bbox), label) for label in labels)
        if unknown is not None:
            report.counts[
                f'boxes of unknown malignancy ({rule.unknown})'] += 1
            if rule.unknown == 'ignore':
                out.append(MammoBox(list(bbox), unknown, True))
    return out
