"""INbreastDataset: the INbreast release, read as it ships."""
from __future__ import annotations

import os.path as osp
from typing import Any, Sequence

from mmdet.datasets import BaseDetDataset
from mmdet.registry import DATASETS
from mmengine.logging import print_log

from .dicom import DEFAULT_MODALITIES
from .inbreast_release import ImageRecord, format_report, scan_release
from .samplers import seed_sample
from .splits import read_split_file


@DATASETS.register_module()
class INbreastDataset(BaseDetDataset):
    """The INbreast full-field digital mammography release.

    Reads ``INbreast.csv``, ``AllXML/*.xml`` (OsiriX plists) and the headers
    of ``AllDICOMs/*.dcm`` from ``data_root`` exactly as the release ships
    them, through the one scan of the release
    (:func:`~mmdet_inbreast.datasets.inbreast_release.scan_release`), which
    checks every DICOM at the door (modality, one 2-D grayscale frame,
    pixel-data length, size against the XML, a working decoder). Pixels are
    not decoded here: :class:`LoadDicomImage` does that in the pipeline.

    Each data info has mmdet's keys ``img_path``, ``img_id`` (the key as an
    int), ``height``, ``width``, ``instances`` (``bbox`` = [x1, y1, x2, y2],
    the min/max of the polygon's ``Point_px``, in original-image pixels;
    ``bbox_label``; ``ignore_flag`` = 0) and the domain keys ``file_name``
    (8-digit key), ``patient_id`` (16-hex hash from the DICOM name),
    ``laterality``, ``view``, ``birads`` (as written, e.g. ``'4a'``),
    ``birads_category``, ``acr``.

    With :class:`SeededSampler`, each sample's random augmentation is
    seeded from the index the sampler gives (see :func:`seed_sample`).

    Images listed in the CSV without an XML file are negatives and are kept.
    Building the dataset logs one summary line (images listed, read,
    negative, skipped by reason, masses, patients, point ROIs by lesion
    name, unknown ROI names) plus the files behind unknown names, orphan
    files and each skipped image's error.

    Args:
        ann_file (str, optional): A split file (8-digit keys, one a line,
            written by ``tools/split_patients.py``), relative to
            ``data_root`` unless absolute. Empty or None: all images of the
            CSV. Defaults to ''.
        metainfo (dict, optional): ``classes`` are canonical lesion types
            (see :data:`~mmdet_inbreast.datasets.inbreast_release.LESION_NAMES`):
            ``('mass',)`` by default, e.g. ``('mass', 'cluster')``.
        strict (bool): Raise on the first broken file (truncated DICOM,
            malformed XML, another modality, a mass of fewer than 3 points,
            an unknown ROI name, ...) instead of skipping that image (or
            counting the name) and naming it in the summary. Defaults to
            False.
        allowed_modalities (Sequence[str], optional): DICOM ``Modality``
            values accepted; None accepts any. Defaults to ``('MG',)``.
        **kwargs: Passed to :class:`mmdet.datasets.BaseDetDataset`
            (``data_root``, ``pipeline``, ``test_mode``, ``filter_cfg``...).
    """

    METAINFO = dict(classes=('mass', ), palette=[(220, 20, 60)])

    def __init__(self, *args, ann_file: str | None = '', strict: bool = False,
                 allowed_modalities: Sequence[str] | None = DEFAULT_MODALITIES,
                 **kwargs) -> None:
        self.strict = strict
        self.allowed_modalities = (None if allowed_modalities is None else
                                   tuple(allowed_modalities))
        super().__init__(*args, ann_file=ann_file or '', **kwargs)

    def load_data_list(self) -> list[dict]:
        """Scan the release and return one data info per usable image.

        Returns:
            list[dict]: Data infos in CSV (or split file) order.
        """
        classes = tuple(self.metainfo['classes'])
        data_root = self.data_root or ''
        keys = read_split_file(self.ann_file) if self.ann_file and not \
            osp.isdir(self.ann_file) else None
        records, report = scan_release(
            data_root, lesion_types=classes, keys=keys, strict=self.strict,
            allowed_modalities=self.allowed_modalities)
        split = osp.basename(self.ann_file) if keys is not None else 'all'
        summary = format_report(records, report, classes)
        print_log(f'INbreastDataset({data_root!r}, split={split}): {summary}',
                  logger='current')
        self.scan_report = report
        self.scan_summary = summary
        return [self.parse_data_info(r) for r in records]

    def parse_data_info(self, raw_data_info: ImageRecord) -> dict[str, Any]:
        """Turn an :class:`ImageRecord` into mmdet's data info dict.

        Args:
            raw_data_info (ImageRecord): One image of the release.

        Returns:
            dict: The data info (keys listed in the class docstring).
        """
        r = raw_data_info
        cat2label = {c: i for i, c in enumerate(self.metainfo['classes'])}
        instances = [
            dict(bbox=list(bbox), bbox_label=cat2label[lesion], ignore_flag=0)
            for bbox, lesion in r.boxes
        ]
        return dict(
            img_path=r.img_path,
            img_id=int(r.file_name),
            file_name=r.file_name,
            patient_id=r.patient_id,
            laterality=r.laterality,
            view=r.view,
            birads=r.birads,
            birads_category=r.birads_category,
            acr=r.acr,
            height=r.height,
            width=r.width,
            instances=instances)

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
            if filter_empty_gt and not info['instances']:
                continue
            if min(info['width'], info['height']) < min_size:
                continue
            kept.append(info)
        return kept

    def __getitem__(self, idx: int) -> dict:
        """The pipeline's output for ``idx``, its random transforms seeded
        first when ``idx`` carries a seed (:class:`SeededSampler`)."""
        return super().__getitem__(seed_sample(idx))
