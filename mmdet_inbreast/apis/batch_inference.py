"""Batch inference on DICOM files and folders: which files of a folder are
DICOMs (:func:`find_dicom_files`), a unique output name per file
(:func:`output_names`), and :func:`infer_dicoms`, which runs
:func:`~mmdet_inbreast.apis.inference.predict_dicom` on each file and writes
its JSON record and overlay PNG, recording the files that fail
(:class:`InferenceReport`) instead of stopping.

Model set-up and the single-image prediction (pipeline, header check) are
in :mod:`mmdet_inbreast.apis.inference`.
"""
from __future__ import annotations

import json
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional, Sequence

from .inference import DEFAULT_MODALITIES, build_dicom_pipeline, predict_dicom

#: File name endings taken from a folder; files without an extension are
#: taken when they carry the ``DICM`` magic at byte 128.
DICOM_SUFFIXES = ('.dcm', '.dicom', '.dic')


def find_dicom_files(input_path: str) -> list[str]:
    """The DICOM files to run on: ``input_path`` itself, or the files of a
    folder (not recursive) ending in ``.dcm``/``.dicom``/``.dic`` (any case)
    or without extension but with the ``DICM`` magic at byte 128, sorted.

    Raises:
        FileNotFoundError: If ``input_path`` does not exist.
    """
    if osp.isfile(input_path):
        return [input_path]
    if not osp.isdir(input_path):
        raise FileNotFoundError(f'{input_path}: no such file or folder')
    found = []
    for name in sorted(os.listdir(input_path)):
        path = osp.join(input_path, name)
        if not osp.isfile(path):
            continue
        stem, ext = osp.splitext(name)
        if ext.lower() in DICOM_SUFFIXES:
            found.append(path)
        elif not ext:
            with open(path, 'rb') as f:
                head = f.read(132)
            if head[128:132] == b'DICM':
                found.append(path)
    return found


def output_names(files: Sequence[str]) -> dict[str, str]:
    """A unique output name per input file: its path relative to the
    inputs' common folder, extension kept (``a``, ``a.dcm`` and ``a.dicom``
    become ``a``, ``a.dcm`` and ``a.dicom``; files of sub-folders keep
    them). :func:`infer_dicoms` appends ``.json`` and ``.png``.

    Args:
        files (Sequence[str]): Input paths; the same file given twice (by
            any path) is kept once.

    Returns:
        dict[str, str]: Input path -> relative output name, in input order.
    """
    files = list(dict.fromkeys(files))
    if not files:
        return {}
    absolute = [osp.abspath(f) for f in files]
    root = osp.commonpath([osp.dirname(f) for f in absolute])
    names, seen = {}, set()
    for path, abs_path in zip(files, absolute):
        if abs_path in seen:
            continue
        seen.add(abs_path)
        names[path] = osp.relpath(abs_path, root)
    return names


@dataclass
class InferenceReport:
    """What :func:`infer_dicoms` did.

    Attributes:
        written (list[dict]): Per image: ``file``, ``json``, ``png`` (or
            None), ``num_boxes`` (>= the score threshold), ``max_score``.
        skipped (dict[str, str]): File -> error message.
    """
    written: list = field(default_factory=list)
    skipped: dict = field(default_factory=dict)


def infer_dicoms(model,
                 files: Iterable[str],
                 out_dir: str,
                 score_thr: float = 0.3,
                 overlay: bool = True,
                 max_size: Optional[int] = 2048,
                 modalities: Optional[Sequence[str]] = DEFAULT_MODALITIES,
                 progress: Optional[Callable[[Iterable], Iterable]] = None
                 ) -> InferenceReport:
    """Run on each file; write ``<name>.json`` (:meth:`DicomPrediction.
    to_json`, predictions with score >= ``score_thr``) and ``<name>.png``
    (the windowed mammogram, predictions in blue) into ``out_dir``, where
    ``<name>`` is the file's path relative to the inputs' common folder,
    extension included (:func:`output_names`): ``a``, ``a.dcm`` and
    ``a.dicom`` write ``a.json``, ``a.dcm.json`` and ``a.dicom.json``.

    A file that fails (not DICOM, not a mammogram, undecodable...) is
    recorded in the report's ``skipped`` with its error and the others
    still run. ``<out_dir>/infer_report.json`` lists both.

    Args:
        model (nn.Module): From :func:`init_inbreast_detector`.
        files (Iterable[str]): DICOM paths (:func:`find_dicom_files`).
        out_dir (str): Created if needed.
        score_thr (float): Defaults to 0.3.
        overlay (bool): Write the PNG. Defaults to True.
        max_size (int, optional): Longest side of the PNG. Defaults to 2048.
        modalities (Sequence[str], optional): See :func:`check_dicom_header`.
        progress (callable, optional): Wraps the iterable (e.g. ``tqdm``).

    Returns:
        InferenceReport: Written and skipped files.
    """
    from ..visualization.mammogram import render_mammogram, save_rgb
    os.makedirs(out_dir, exist_ok=True)
    pipeline = build_dicom_pipeline(model)
    classes = tuple(model.dataset_meta.get('classes', ()))
    report = InferenceReport()
    names = output_names(list(files))
    for path in (progress(list(names)) if progress else names):
        try:
            pred = predict_dicom(model, path, pipeline, modalities,
                                 keep_image=overlay).above(score_thr)
        except Exception as e:  # one bad file must not stop the batch
            msg = str(e)
            if not msg.startswith(str(path)):
                msg = f'{path}: {type(e).__name__}: {msg}'
            report.skipped[path] = msg
            continue
        out = osp.join(out_dir, names[path])
        os.makedirs(osp.dirname(out), exist_ok=True)
        json_path = f'{out}.json'
        with open(json_path, 'w') as f:
            json.dump(pred.to_json(classes, score_thr), f)
        png_path = None
        if overlay:
            png_path = save_rgb(
                f'{out}.png',
                render_mammogram(pred.image, None, pred.bboxes, pred.scores,
                                 max_size=max_size))
        report.written.append(
            dict(file=path, json=json_path, png=png_path,
                 num_boxes=int(len(pred.scores)),
                 max_score=float(pred.scores.max()) if len(pred.scores)
                 else None))
    with open(osp.join(out_dir, 'infer_report.json'), 'w') as f:
        json.dump(dict(score_thr=score_thr, written=report.written,
                       skipped=report.skipped), f, indent=1)
    return report


__all__ = [
    'DICOM_SUFFIXES', 'InferenceReport', 'find_dicom_files', 'infer_dicoms',
    'output_names'
]
