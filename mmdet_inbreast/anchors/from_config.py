"""Ground-truth boxes of a config's training split, as the model sees them,
and anchors fitted to them.

Anchors must fit the boxes after the training pipeline's geometry, so
:func:`boxes_from_config` builds the config's training dataset (annotations
only: no image is decoded and no transform is run), applies the scale of
the pipeline's first ``Resize`` the way mmcv's ``Resize`` computes it, and
then what ``MassPreservingRandomCrop`` does to a mass larger than its crop
(shrunk, clipped or skipped). Only the training split's boxes are read:
fitting anchors on them keeps the val and test masses out of the model's
design. :func:`fit_anchors_for_config` runs the optimiser on them and
returns the ``anchor_generator`` settings (a study calls it per fold).

mmengine/mmdet are imported inside the functions, so importing this module
stays torch-free.
"""
import argparse
import copy
import os.path as osp
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..utils.errors import InputError
from .io import BoxSet


def _resize_scale(transform: dict, width: int,
                  height: int) -> Tuple[float, float, int, int]:
    """``(w_scale, h_scale, new_w, new_h)`` of an mmdet/mmcv ``Resize``.

    Mirrors ``mmcv.transforms.Resize.transform`` / ``_resize_img``: the target
    is ``scale`` (an int means a square) or the image size times
    ``scale_factor``; with ``keep_ratio`` the image is rescaled with
    ``mmcv.rescale_size`` (as large as fits in the target, long edge to the
    long side), and the box scale is the integer new size over the old size.
    """
    from mmcv.image.geometric import _scale_size, rescale_size

    scale = transform.get('scale')
    scale_factor = transform.get('scale_factor')
    if scale is not None:
        target = (scale, scale) if isinstance(scale, int) else tuple(scale)
    else:
        if isinstance(scale_factor, (int, float)):
            scale_factor = (float(scale_factor), float(scale_factor))
        target = _scale_size((width, height), tuple(scale_factor))
    if transform.get('keep_ratio', False):
        new_w, new_h = rescale_size((width, height), tuple(target))
    else:
        new_w, new_h = int(target[0]), int(target[1])
    return new_w / width, new_h / height, new_w, new_h


def _unwrap_dataset(cfg: dict, config: str) -> dict:
    """The innermost dataset config of wrappers (``dataset=dict(...)``)."""
    while 'dataset' in cfg:
        cfg = cfg['dataset']
    if 'datasets' in cfg:
        raise InputError(f'{config}: train_dataloader.dataset concatenates '
                         f'{len(cfg["datasets"])} datasets; write their boxes '
                         f'to a CSV and use --boxes instead')
    return cfg


def _first_resize(pipeline: Sequence[dict], config: str) -> Optional[dict]:
    """The first resize transform of ``pipeline``, or None."""
    for transform in pipeline:
        name = str(transform.get('type', '')).split('.')[-1]
        if name == 'Resize':
            return transform
        if 'Resize' in name:
            raise InputError(
                f'{config}: the training pipeline resizes with {name}, whose '
                f'scale is random or not supported here; export the resized '
                f'boxes to a file_name,x1,y1,x2,y2 CSV and use --boxes (or '
                f'--image-scale for a fixed factor)')
    return None


def _first_crop(pipeline: Sequence[dict]) -> Optional[dict]:
    """The first ``MassPreservingRandomCrop`` of ``pipeline``, or None."""
    for transform in pipeline:
        if str(transform.get('type', '')).split('.')[-1] == \
                'MassPreservingRandomCrop':
            return transform
    return None


def crop_geometry(boxes: np.ndarray, crop: dict) -> Tuple[np.ndarray,
                                                           np.ndarray]:
    """Boxes as ``MassPreservingRandomCrop`` hands them to the model when it
    picks each of them.

    A box that fits the crop keeps its size. One that does not follows
    ``large_mass``: ``'shrink'`` scales it by the crop's window factor
    (``cw / win_w``, ``ch / win_h``, computed as the transform does),
    ``'clip'`` clips it to the crop size, ``'skip'`` leaves it out (the
    transform never picks it). Sizes change about the box centre; where a
    crop lands is random, so the position on the anchor grid is the
    original one.

    Args:
        boxes (np.ndarray): (N, 4) x1, y1, x2, y2 pixels (after any resize).
        crop (dict): The transform's config (``crop_size`` (w, h),
            ``large_mass`` default ``'shrink'``, ``margin`` default 0.9).

    Returns:
        tuple[np.ndarray, np.ndarray]: (M, 4) boxes and the (N,) bool mask
        of the input boxes kept.
    """
    from ..datasets.transforms.crop import _EPS, crop_span

    size = crop.get('crop_size', (1024, 1024))
    cw, ch = (size, size) if isinstance(size, int) else tuple(size)
    policy = crop.get('large_mass', 'shrink')
    margin = float(crop.get('margin', 0.9))
    out, keep = [], np.ones(len(boxes), dtype=bool)
    for i, box in enumerate(np.asarray(boxes, dtype=np.float64)):
        span_w, span_h = crop_span(box)
        if span_w <= cw + _EPS and span_h <= ch + _EPS:
            out.append(box)
            continue
        if policy == 'skip':
            keep[i] = False
            continue
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        w, h = box[2] - box[0], box[3] - box[1]
        if policy == 'shrink':
            factor = max(span_w / cw, span_h / ch) / margin
            win_w = max(int(np.ceil(cw * factor - _EPS)), cw)
            win_h = max(int(np.ceil(ch * factor - _EPS)), ch)
            w, h = w * cw / win_w, h * ch / win_h
        else:  # 'clip'
            w, h = min(w, cw), min(h, ch)
        out.append(np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]))
    return np.asarray(out, dtype=np.float64).reshape(-1, 4), keep


def load_train_config(config: Union[str, Any],
                      cfg_options: Optional[Union[dict, List[str]]] = None,
                      data_root: Optional[str] = None):
    """A config (path or ``Config``) with overrides and ``data_root``
    applied, the default scope set and the package registered.

    Args:
        config (str | Config): Config file or a loaded config (copied).
        cfg_options (dict | list[str], optional): Overrides.
        data_root (str, optional): Release folder for every dataset.

    Returns:
        tuple[Config, str]: The config and its name for messages.
    """
    from mmengine.config import Config, DictAction
    from mmengine.registry import init_default_scope

    import mmdet_inbreast  # registers INbreastDataset & co.
    if not hasattr(mmdet_inbreast, '__version__'):
        raise RuntimeError(
            'mmdet_inbreast is the anchor tool\'s import stand-in, so nothing '
            'is registered; import mmdet_inbreast before '
            'mmdet_inbreast.anchors (tools/optimize_anchors.py does so for '
            '--config)')
    from mmdet_inbreast.utils import apply_cfg_options, set_data_root

    if isinstance(config, str):
        if not osp.isfile(config):
            raise InputError(f'{config}: no such config file')
        cfg, name = Config.fromfile(config), config
    else:
        cfg = copy.deepcopy(config)
        name = getattr(config, 'filename', None) or 'config'
    if cfg_options and not isinstance(cfg_options, dict):
        parser = argparse.ArgumentParser()
        parser.add_argument('--o', nargs='+', action=DictAction)
        cfg_options = parser.parse_args(['--o', *cfg_options]).o
    apply_cfg_options(cfg, cfg_options)
    if data_root is not None:
        set_data_root(cfg, data_root)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    return cfg, name


def boxes_from_config(config: Union[str, Any],
                      cfg_options: Optional[Union[dict, List[str]]] = None,
                      data_root: Optional[str] = None) -> BoxSet:
    """Boxes of a config's training split after its training geometry.

    Builds ``cfg.train_dataloader.dataset`` (unwrapping dataset wrappers such
    as ``MassRepeatDataset``/``RepeatDataset`` down to the innermost
    ``dataset``) with an empty pipeline, takes every non-ignored instance's
    ``bbox`` (x1, y1, x2, y2 in original pixels) and the image's
    ``height``/``width``, and applies the first ``Resize`` of the training
    pipeline (``scale`` with or without ``keep_ratio``, or
    ``scale_factor``), clipping to the resized image as ``Resize`` does
    (``clip_object_border``, default True), then the first
    ``MassPreservingRandomCrop`` (:func:`crop_geometry`: masses larger than
    the crop shrink, clip or are skipped, as the transform does). Without
    them the boxes are unchanged. The image sizes are padded up to
    ``model.data_preprocessor.pad_size_divisor`` where the config sets one
    (they only bound the anchor grid).

    Args:
        config (str | Config): Config file path, or a loaded config (a
            study's fold config; it is copied, not changed).
        cfg_options (dict | list[str], optional): Overrides, as a dict or
            ``KEY=VALUE`` strings (mmengine's ``--cfg-options`` syntax);
            ``data_root=``/``stats_file=`` reach every dataset, as in
            ``tools/train.py``. Defaults to None.
        data_root (str, optional): Release folder for every dataset (paths
            with spaces, which ``--cfg-options`` cannot carry). Defaults to
            None.

    Returns:
        BoxSet: Boxes, their images' file names (``file_name`` or the
        ``img_path`` basename) and (padded) resized image sizes.

    Raises:
        InputError: ``config`` does not exist, has no training loader, no
            boxes, a random resize, or a concatenated dataset.
    """
    cfg, config = load_train_config(config, cfg_options, data_root)
    from mmdet.registry import DATASETS

    if 'train_dataloader' not in cfg:
        raise InputError(f'{config}: no train_dataloader; anchors are fitted '
                         f'to the training split')
    ds_cfg = copy.deepcopy(
        _unwrap_dataset(cfg.train_dataloader.dataset.to_dict(), config))
    pipeline = ds_cfg.get('pipeline', [])
    resize = _first_resize(pipeline, config)
    crop = _first_crop(pipeline)
    ds_cfg['pipeline'] = []  # annotations only: build no transform
    ds_cfg['lazy_init'] = False
    dataset = DATASETS.build(ds_cfg)

    pad = 1
    model_cfg = cfg.get('model', {})
    if isinstance(model_cfg, dict):
        pad = int(
            model_cfg.get('data_preprocessor', {}).get('pad_size_divisor', 1)
            or 1)

    boxes, names, sizes = [], [], []
    dropped = 0
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        kept = [
            inst['bbox'] for inst in info.get('instances', [])
            if not inst.get('ignore_flag', 0)
        ]
        if not kept:
            continue
        b = np.asarray(kept, dtype=np.float64).reshape(-1, 4)
        height, width = int(info['height']), int(info['width'])
        if resize is not None:
            w_scale, h_scale, width, height = _resize_scale(
                resize, int(info['width']), int(info['height']))
            b = b * np.array([w_scale, h_scale, w_scale, h_scale])
            if resize.get('clip_object_border', True):
                b[:, 0::2] = b[:, 0::2].clip(0, width)
                b[:, 1::2] = b[:, 1::2].clip(0, height)
        if crop is not None:
            b, keep = crop_geometry(b, crop)
            dropped += int((~keep).sum())
            if not len(b):
                continue
        name = info.get('file_name') or osp.basename(info.get('img_path', ''))
        padded = (int(np.ceil(height / pad) * pad),
                  int(np.ceil(width / pad) * pad))
        boxes.append(b)
        names += [str(name)] * len(b)
        sizes += [padded] * len(b)
    if not boxes:
        raise InputError(f'{config}: the training split '
                         f'({ds_cfg.get("ann_file", "?")!r} under '
                         f'{ds_cfg.get("data_root", "?")!r}) has no '
                         f'non-ignored boxes')
    all_boxes = np.concatenate(boxes)
    valid = (all_boxes[:, 2] > all_boxes[:, 0]) & (
        all_boxes[:, 3] > all_boxes[:, 1])
    if not valid.all():
        raise InputError(f'{config}: {int((~valid).sum())} boxes are empty '
                         f'after the resize, first {all_boxes[~valid][0]}')
    steps = ['resized' if resize is not None else 'no resize']
    if crop is not None:
        steps.append('crop geometry' + (
            f', {dropped} boxes larger than the crop skipped as the crop '
            'skips them' if dropped else ''))
    split = ds_cfg.get('ann_file') or 'all images'
    return BoxSet(
        boxes=all_boxes,
        file_names=names,
        image_sizes=np.asarray(sizes, dtype=np.float64),
        source=f'{config} (train split {split}, {", ".join(steps)})')


def fit_anchors_for_config(cfg: Union[str, Any],
                           data_root: Optional[str] = None,
                           num_ratios: int = 3,
                           num_scales: int = 3,
                           objective: str = 'focal',
                           with_stride: bool = True,
                           seed: int = 0,
                           cfg_options: Optional[Union[dict,
                                                       List[str]]] = None,
                           **kwargs) -> dict:
    """Fit anchors to the boxes of a config's training split.

    The boxes are :func:`boxes_from_config`'s (training split only, after
    the training geometry); the strides are the config's
    ``model.bbox_head.anchor_generator.strides`` (mmdet's 8-128 when it
    sets none). A study calls this once per fold with the fold's config,
    so the test masses of a fold never shape its anchors.

    Args:
        cfg (str | Config): The config (path or loaded; not changed).
        data_root (str, optional): Release folder for every dataset.
        num_ratios (int): Ratios (r, 1/r pairs, plus 1 when odd). Defaults
            to 3.
        num_scales (int): Scales per position. Defaults to 3.
        objective (str): ``'focal'``, ``'avg'`` or ``'unmatched'``.
            Defaults to ``'focal'``.
        with_stride (bool): Score on the real anchor grid. Defaults to True.
        seed (int): Seed of the search. Defaults to 0.
        cfg_options (dict | list[str], optional): Overrides of ``cfg``.
        **kwargs: Further arguments of
            :func:`~mmdet_inbreast.anchors.optimize_anchors` (e.g.
            ``popsize``, ``restarts``, ``ratio_bounds``).

    Returns:
        dict: The ``model.bbox_head.anchor_generator`` settings to merge
        into the config: ``octave_base_scale=None``,
        ``scales_per_octave=None`` (``AnchorGenerator`` refuses them next to
        ``scales``), ``scales``, ``ratios`` (h/w) and ``strides``.
    """
    from .optimizer import DEFAULT_STRIDES, optimize_anchors

    loaded, _ = load_train_config(cfg, cfg_options, data_root)
    box_set = boxes_from_config(loaded)
    generator = loaded.get('model', {}).get('bbox_head', {}).get(
        'anchor_generator', {}) or {}
    strides = [int(s) for s in generator.get('strides', DEFAULT_STRIDES)]
    result = optimize_anchors(
        box_set.boxes,
        num_ratios=num_ratios,
        num_scales=num_scales,
        objective=objective,
        with_stride=with_stride,
        strides=strides,
        image_sizes=box_set.image_sizes,
        seed=seed,
        **kwargs)
    return dict(
        octave_base_scale=None,
        scales_per_octave=None,
        scales=[float(s) for s in result.scales],
        ratios=[float(r) for r in result.ratios],
        strides=list(result.strides))
