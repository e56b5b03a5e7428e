"""Inference on DICOM mammograms with mmdet's own ``init_detector`` and
``inference_detector``; what is DICOM-specific is here: the model set-up,
the test pipeline made to start from a DICOM path, the header check and
the prediction of one file. Running on many files (the file search, unique
output names, JSON and overlays) is in
:mod:`mmdet_inbreast.apis.batch_inference`.

The test pipeline (:func:`dicom_inference_pipeline_cfg`) is the config's
own test pipeline minus ``LoadAnnotations``: it starts from a DICOM path
(``LoadDicomImage``), keeps ``Resize`` if the config has one, normalises
with the config's ``ZeroIgnoringNormalize`` statistics and packs
``background_value`` for the background padding. mmdet's heads divide the
boxes by ``scale_factor`` (``rescale=True``), so predictions come back in
the pixels of the DICOM as stored. Predictions are therefore the ones
``tools/test.py`` evaluates, without needing a CSV, XML or split file. The
normalisation statistics are not in the checkpoint: the config's
``stats_file`` (or ``stats_file=``/``--stats-file``) must be readable.

Which files are mammograms: the detector was trained on full-field digital
mammograms only, so :func:`predict_dicom` refuses, with a ``ValueError``
that names the file, DICOMs whose ``Modality`` is not in ``modalities``
(``('MG',)`` by default; a file without ``Modality`` is accepted). Pass
``modalities=None`` (``--any-modality``) to run anyway. Files that cannot be
decoded as one 2-D grayscale frame raise from
:func:`~mmdet_inbreast.datasets.transforms.loading.read_dicom_pixels`.
"""
from __future__ import annotations

import copy
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

#: DICOM Modality values accepted by default (full-field digital
#: mammography).
DEFAULT_MODALITIES: tuple[str, ...] = ('MG', )

#: Transforms removed from the config's test pipeline for inference: they
#: need annotations.
ANNOTATION_TRANSFORMS = ('LoadAnnotations', 'mmdet.LoadAnnotations')


def dicom_inference_pipeline_cfg(cfg) -> list[dict]:
    """The config's test pipeline, made to start from a bare DICOM path.

    Removes ``LoadAnnotations``, drops ``cache_dir`` from ``LoadDicomImage``
    (the cache is keyed by release file names) and ``'instances'`` from
    ``PackDetInputs``' ``meta_keys``; ``'background_value'`` (the padding
    needs it) and ``'dicom_meta'`` (pixel spacing for the JSON) are added
    to them if missing.

    Args:
        cfg (Config): A full config (its ``test_dataloader`` is read, wrapped
            datasets included).

    Returns:
        list[dict]: Transform configs.

    Raises:
        ValueError: If the pipeline does not start with ``LoadDicomImage``
            or has no ``PackDetInputs``.
    """
    from mmdet.utils import get_test_pipeline_cfg
    pipeline = [
        copy.deepcopy(dict(t)) for t in get_test_pipeline_cfg(cfg)
        if t['type'] not in ANNOTATION_TRANSFORMS
    ]
    types = [t['type'].split('.')[-1] for t in pipeline]
    if not types or types[0] != 'LoadDicomImage':
        raise ValueError(
            f'test pipeline {types} does not start with LoadDicomImage; '
            'DICOM inference needs a config of this project '
            '(configs/retina_*.py)')
    if 'PackDetInputs' not in types:
        raise ValueError(f'test pipeline {types} has no PackDetInputs')
    pipeline[0].pop('cache_dir', None)
    pack = pipeline[types.index('PackDetInputs')]
    keys = [k for k in pack.get('meta_keys', ()) if k != 'instances']
    for key in ('background_value', 'dicom_meta'):
        if keys and key not in keys:
            keys.append(key)
    if keys:
        pack['meta_keys'] = tuple(keys)
    return pipeline


def _load_cfg(config, cfg_options: Optional[dict] = None,
              data_root: Optional[str] = None,
              stats_file: Optional[str] = None):
    from mmengine.config import Config

    from ..utils import apply_cfg_options, set_data_root
    if isinstance(config, (str, os.PathLike)):
        cfg = Config.fromfile(str(config))
    elif isinstance(config, Config):
        cfg = copy.deepcopy(config)
    else:
        raise TypeError(f'config must be a path or a Config, got '
                        f'{type(config).__name__}')
    apply_cfg_options(cfg, cfg_options)
    if data_root is not None or stats_file is not None:
        set_data_root(cfg, data_root, stats_file)
    return cfg


def init_inbreast_detector(config,
                           checkpoint: Optional[str] = None,
                           device: str = 'cpu',
                           cfg_options: Optional[dict] = None,
                           data_root: Optional[str] = None,
                           stats_file: Optional[str] = None,
                           score_thr: Optional[float] = None,
                           strict: bool = True):
    """:func:`mmdet.apis.init_detector` for this project's configs.

    What it adds: ``data_root``/``stats_file`` carried into every pipeline
    (:func:`~mmdet_inbreast.utils.set_data_root`), the backbone's
    ``init_cfg`` dropped (no download of ImageNet weights), ``score_thr``,
    a strict weight check, and class names from the checkpoint's
    ``dataset_meta``, else from the config's test dataset ``metainfo``,
    else ``INbreastDataset.METAINFO`` (not mmdet's COCO fallback; the test
    dataset is not built, so the release need not be on disk).

    Args:
        config (str | Config): Config file or object (not modified).
        checkpoint (str, optional): ``.pth`` file; None keeps the random
            initialisation (for tests).
        device (str): ``'cpu'``, ``'cuda:0'``... Defaults to ``'cpu'``.
        cfg_options (dict, optional): Overrides, as ``--cfg-options``.
        data_root (str, optional): Moves the statistics file with it.
        stats_file (str, optional): ``ZeroIgnoringNormalize`` statistics
            JSON, when it is not where the config says.
        score_thr (float, optional): Lowers ``model.test_cfg.score_thr`` to
            this value if it is higher, so that predictions down to it are
            kept. Defaults to None (the config's).
        strict (bool): Refuse a checkpoint whose weights do not all fit the
            model (missing, unexpected or differently shaped parameters):
            the untouched layers would keep random weights and predict
            nonsense. Defaults to True (mmdet's ``init_detector`` only
            warns).

    Returns:
        nn.Module: The model in eval mode, with ``cfg`` (the resolved config)
        and ``dataset_meta``.

    Raises:
        InputError: With ``strict``, if the checkpoint does not fit the
            model (the message names the checkpoint, the config and the
            mismatched keys).
    """
    import warnings

    from mmdet.apis import init_detector
    from mmengine.runner.checkpoint import (_load_checkpoint,
                                            _load_checkpoint_to_model)

    import mmdet_inbreast  # noqa: F401  (registration, safe loader)
    from ..datasets import INbreastDataset
    from ..engine import check_checkpoint_fits
    cfg = _load_cfg(config, cfg_options, data_root, stats_file)
    if cfg.model.get('backbone', {}).get('init_cfg') is not None:
        cfg.model.backbone.init_cfg = None
    test_cfg = cfg.model.get('test_cfg')
    if score_thr is not None and test_cfg is not None and \
            test_cfg.get('score_thr', 0.0) > score_thr:
        test_cfg.score_thr = float(score_thr)
    with warnings.catch_warnings(record=True):
        # Weights and classes are loaded below (mmdet warns about COCO
        # classes for checkpoint=None, and resets the filters, so the
        # warnings are recorded and dropped); palette 'random' skips
        # building the test dataset, which would need the release on disk.
        model = init_detector(cfg, None, palette='random', device='cpu')
    meta: dict = {}
    if checkpoint is not None:
        ckpt = _load_checkpoint(checkpoint, map_location='cpu')
        check_checkpoint_fits(model, ckpt, checkpoint,
                              getattr(cfg, 'filename', None),
                              partial=not strict)
        _load_checkpoint_to_model(model, ckpt, strict=False)
        meta = {k.lower(): v for k, v in
                ckpt.get('meta', {}).get('dataset_meta', {}).items()}
    if 'classes' not in meta:
        metainfo = cfg.get('test_dataloader', {}).get('dataset', {}).get(
            'metainfo') or {}
        meta.update(INbreastDataset.METAINFO)
        meta.update(dict(metainfo))
    model.dataset_meta = meta
    model.to(device)
    return model


def check_dicom_header(path: str,
                       modalities: Optional[Sequence[str]] = DEFAULT_MODALITIES
                       ) -> dict:
    """Check a DICOM header with the dataset's one reader
    (:func:`~mmdet_inbreast.datasets.dicom.read_dicom_header`: modality,
    one 2-D grayscale frame, pixel-data length) without decoding pixels.

    Args:
        path (str): DICOM file.
        modalities (Sequence[str], optional): Accepted ``Modality`` values
            (any case); None accepts all, a missing one too. Defaults to
            ``('MG',)``.

    Returns:
        dict: ``modality``, ``sop_class`` (name), ``rows``, ``columns``.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        DicomError: Not DICOM, unreadable or unusable header (an
            :class:`~mmdet_inbreast.utils.errors.InputError`).
        ModalityError: Another modality; the message names
            ``--any-modality``.
    """
    from ..datasets.dicom import ModalityError, read_dicom_header
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: DICOM file not found')
    try:
        header = read_dicom_header(path, modalities, decode=False)
    except ModalityError as e:
        raise ModalityError(
            f'{e}; the detector was trained on mammograms only: pass '
            '--any-modality (modalities=None) to run it anyway') from None
    return dict(modality=header.modality, sop_class=header.sop_class,
                rows=header.rows, columns=header.columns)


@dataclass
class DicomPrediction:
    """The detections of one DICOM file.

    Attributes:
        file (str): The DICOM path.
        width, height (int): Image size in pixels, as stored.
        bboxes (np.ndarray): (N, 4) float32 x1, y1, x2, y2 in original-image
            pixels, scores descending.
        scores (np.ndarray): (N,) float32.
        labels (np.ndarray): (N,) int64 class indices.
        image (np.ndarray, optional): (H, W) raw pixels (0 = background),
            when asked for.
        meta (dict): Header values (``modality``, ``pixel_spacing``...).
    """
    file: str
    width: int
    height: int
    bboxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    image: Optional[np.ndarray] = None
    meta: dict = field(default_factory=dict)

    def above(self, score_thr: float) -> 'DicomPrediction':
        """The predictions with score >= ``score_thr`` (image kept)."""
        keep = self.scores >= score_thr
        return DicomPrediction(self.file, self.width, self.height,
                               self.bboxes[keep], self.scores[keep],
                               self.labels[keep], self.image, self.meta)

    def to_json(self, classes: Sequence[str],
                score_thr: Optional[float] = None) -> dict:
        """The JSON record written by
        :func:`~mmdet_inbreast.apis.batch_inference.infer_dicoms`.

        Keys: ``file``, ``size`` (``width``, ``height``), ``boxes`` ([[x1,
        y1, x2, y2], ...] in original-image pixels, 3 decimals), ``scores``,
        ``labels`` (class indices), ``label_names``, ``score_thr``,
        ``box_format``, ``pixel_spacing_mm``, ``modality``.
        """
        return dict(
            file=self.file,
            size=dict(width=int(self.width), height=int(self.height)),
            boxes=[[round(float(v), 3) for v in b] for b in self.bboxes],
            scores=[round(float(s), 6) for s in self.scores],
            labels=[int(i) for i in self.labels],
            label_names=[str(classes[i]) if 0 <= i < len(classes) else
                         str(i) for i in self.labels],
            score_thr=score_thr,
            box_format='x1, y1, x2, y2 in original-image pixels',
            pixel_spacing_mm=self.meta.get('pixel_spacing'),
            modality=self.meta.get('modality'))


def build_dicom_pipeline(model):
    """``Compose`` of :func:`dicom_inference_pipeline_cfg` for
    ``model.cfg``: the ``test_pipeline`` argument of
    :func:`mmdet.apis.inference_detector`."""
    from mmcv.transforms import Compose
    from mmengine.registry import init_default_scope
    init_default_scope(model.cfg.get('default_scope', 'mmdet'))
    return Compose(dicom_inference_pipeline_cfg(model.cfg))


def predict_dicom(model,
                  path: str,
                  pipeline=None,
                  modalities: Optional[Sequence[str]] = DEFAULT_MODALITIES,
                  keep_image: bool = False) -> DicomPrediction:
    """Detect masses in one DICOM file: the header check, then
    :func:`mmdet.apis.inference_detector` with the DICOM pipeline.

    Args:
        model (nn.Module): From :func:`init_inbreast_detector`.
        path (str): DICOM file.
        pipeline (Compose, optional): From :func:`build_dicom_pipeline`
            (built per call if None).
        modalities (Sequence[str], optional): See :func:`check_dicom_header`.
        keep_image (bool): Return the raw pixels too (for overlays; the
            file is decoded a second time). Defaults to False.

    Returns:
        DicomPrediction: Boxes in original-image pixels.

    Raises:
        FileNotFoundError, ValueError, RuntimeError: The file is missing, is
        not a mammogram, or cannot be decoded (messages name the file).
    """
    from mmdet.apis import inference_detector

    from ..datasets.transforms.loading import read_dicom_pixels
    header = check_dicom_header(path, modalities)
    pipeline = pipeline if pipeline is not None else build_dicom_pipeline(
        model)
    sample = inference_detector(model, path, test_pipeline=pipeline)
    height, width = sample.metainfo['ori_shape'][:2]
    pred = sample.pred_instances
    scores = pred.scores.detach().cpu().numpy().astype(np.float32)
    order = np.argsort(-scores, kind='stable')
    meta = dict(header, **sample.metainfo.get('dicom_meta', {}))
    return DicomPrediction(
        file=path,
        width=int(width),
        height=int(height),
        bboxes=pred.bboxes.detach().cpu().numpy().astype(np.float32)[order]
        .reshape(-1, 4),
        scores=scores[order],
        labels=pred.labels.detach().cpu().numpy().astype(np.int64)[order],
        image=read_dicom_pixels(path)[0] if keep_image else None,
        meta=meta)


__all__ = [
    'DEFAULT_MODALITIES', 'DicomPrediction', 'build_dicom_pipeline',
    'check_dicom_header', 'dicom_inference_pipeline_cfg',
    'init_inbreast_detector', 'predict_dicom'
]
