"""Export a split of the release as a COCO detection JSON (and, optionally,
16-bit PNGs) for other toolboxes.

The records are those of :class:`~mmdet_inbreast.datasets.INbreastDataset`,
so the boxes are exactly the dataset's: ``bbox = [x1, y1, x2 - x1, y2 - y1]``
(COCO's x, y, width, height, no ``+ 1``) from the dataset's ``[x1, y1, x2,
y2]`` in original-image pixels, ``area = width * height``. Images without
masses (negatives) are listed in ``images`` and have no annotation.

``images`` entries: ``id`` (the 8-digit key as an int, the dataset's
``img_id``), ``file_name`` (``<key>.png`` when PNGs are written, else the
DICOM path relative to the release folder), ``width``, ``height``, and the
release's ``dicom_file``, ``patient_id``, ``laterality``, ``view``,
``birads``, ``acr``. ``categories`` ids are 1-based in ``classes`` order.

PNGs are single-channel 16-bit (``cv2.imwrite`` of the ``uint16`` pixels as
stored: 14-bit values, 0 = background, no windowing), named ``<key>.png``.
"""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Callable, Iterable, Optional, Sequence

import numpy as np

from .dicom import DicomError, read_dicom_pixels


def infos_to_coco(data_infos: Sequence[dict],
                  classes: Sequence[str] = ('mass', ),
                  data_root: Optional[str] = None,
                  png: bool = False,
                  description: str = 'INbreast') -> dict:
    """Build the COCO dict of data infos.

    Args:
        data_infos (Sequence[dict]): INbreastDataset data infos (``img_id``,
            ``img_path``, ``file_name``, ``height``, ``width``,
            ``instances`` with ``bbox`` [x1, y1, x2, y2] in original pixels
            and ``bbox_label``, plus the domain keys).
        classes (Sequence[str]): Class names, ``bbox_label`` order.
            Defaults to ``('mass',)``.
        data_root (str, optional): DICOM paths are written relative to it.
        png (bool): ``file_name`` is ``<key>.png`` (PNGs written alongside).
            Defaults to False.
        description (str): ``info.description``.

    Returns:
        dict: ``info``, ``licenses``, ``images``, ``annotations``,
        ``categories``.

    Raises:
        ValueError: On a box with x2 < x1 or y2 < y1, or a label outside
            ``classes``.
    """
    images, annotations = [], []
    for info in data_infos:
        dicom = info['img_path']
        rel = osp.relpath(dicom, data_root) if data_root else dicom
        key = str(info.get('file_name') or info['img_id'])
        images.append(dict(
            id=int(info['img_id']),
            file_name=f'{key}.png' if png else rel,
            width=int(info['width']),
            height=int(info['height']),
            dicom_file=rel,
            patient_id=info.get('patient_id'),
            laterality=info.get('laterality'),
            view=info.get('view'),
            birads=info.get('birads'),
            acr=info.get('acr')))
        for inst in info.get('instances', []):
            x1, y1, x2, y2 = (float(v) for v in inst['bbox'])
            if x2 < x1 or y2 < y1:
                raise ValueError(f'image {key}: box {inst["bbox"]} has x2 < '
                                 'x1 or y2 < y1; expected x1, y1, x2, y2')
            label = int(inst['bbox_label'])
            if not 0 <= label < len(classes):
                raise ValueError(f'image {key}: bbox_label {label} is not an '
                                 f'index of classes {tuple(classes)}')
            w, h = x2 - x1, y2 - y1
            annotations.append(dict(
                id=len(annotations) + 1,
                image_id=int(info['img_id']),
                category_id=label + 1,
                bbox=[x1, y1, w, h],
                area=w * h,
                iscrowd=0,
                ignore=int(inst.get('ignore_flag', 0))))
    return dict(
        info=dict(description=description,
                  box_format='COCO [x, y, width, height], original pixels'),
        licenses=[],
        images=images,
        annotations=annotations,
        categories=[dict(id=i + 1, name=str(c), supercategory='lesion')
                    for i, c in enumerate(classes)])


def write_png16(path: str, pixels: np.ndarray) -> str:
    """Write pixels as a single-channel 16-bit PNG.

    ``uint16`` (and ``uint8``) pixels are written as they are; float pixels
    (rescaled or signed DICOMs) are rounded, and must lie in [0, 65535].

    Raises:
        ValueError: If float pixels fall outside [0, 65535].
        OSError: If cv2 cannot write the file.
    """
    import cv2
    if pixels.dtype != np.uint16:
        if pixels.dtype.kind == 'f' and (pixels.min() < 0
                                         or pixels.max() > 65535):
            raise ValueError(
                f'{path}: pixel range [{pixels.min()}, {pixels.max()}] does '
                'not fit a 16-bit PNG')
        pixels = np.rint(pixels).astype(np.uint16)
    if osp.dirname(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, np.ascontiguousarray(pixels)):
        raise OSError(f'{path}: cv2 could not write the PNG')
    return path


def export_coco(data_root: str,
                out_file: str,
                ann_file: Optional[str] = None,
                png_dir: Optional[str] = None,
                classes: Sequence[str] = ('mass', ),
                progress: Optional[Callable[[Iterable], Iterable]] = None
                ) -> dict:
    """Write the COCO JSON of a split (and its PNGs).

    Args:
        data_root (str): The release folder.
        out_file (str): The JSON path.
        ann_file (str, optional): Split file (``tools/split_patients.py``),
            relative to ``data_root`` unless absolute or existing as given;
            None: every image of the CSV.
        png_dir (str, optional): Write ``<key>.png`` (16-bit) here.
        classes (Sequence[str]): Lesion types (see
            :data:`~mmdet_inbreast.datasets.inbreast_release.LESION_NAMES`). Defaults
            to ``('mass',)``.
        progress (callable, optional): Wraps the PNG loop (e.g. ``tqdm``).

    Returns:
        dict: The COCO content written. ``info.skipped`` lists the images
        left out (``file_name``, ``reason``, ``error``): those the release
        scan refused and, with ``png_dir``, those whose pixels did not
        decode (they are not in ``images``). Nothing stops at the first
        bad file.
    """
    from .inbreast import INbreastDataset
    from .inbreast_release.scan import REASON_PIXELS
    if ann_file and osp.isfile(ann_file):
        ann_file = osp.abspath(ann_file)
    dataset = INbreastDataset(
        data_root=data_root, ann_file=ann_file or '', test_mode=True,
        pipeline=[], serialize_data=False, metainfo=dict(classes=tuple(
            classes)))
    infos = list(dataset.data_list)
    report = dataset.scan_report
    if png_dir is not None:
        kept = []
        for info in (progress(infos) if progress else infos):
            try:
                pixels, _ = read_dicom_pixels(info['img_path'])
            except (DicomError, FileNotFoundError) as e:
                report.skip(REASON_PIXELS, info['file_name'], str(e))
                continue
            write_png16(osp.join(png_dir, f"{info['file_name']}.png"), pixels)
            kept.append(info)
        infos = kept
    split = osp.basename(ann_file) if ann_file else 'all images'
    coco = infos_to_coco(infos, classes, data_root=data_root,
                         png=png_dir is not None,
                         description=f'INbreast ({split})')
    coco['info']['skipped'] = [
        dict(file_name=key, reason=reason, error=report.errors.get(key, ''))
        for reason, keys in report.skipped.items() for key in keys]
    if osp.dirname(out_file):
        os.makedirs(osp.dirname(out_file), exist_ok=True)
    with open(out_file, 'w') as f:
        json.dump(coco, f)
    return coco
