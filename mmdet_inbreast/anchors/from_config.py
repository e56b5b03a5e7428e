"""Ground-truth boxes of a config's training split, as the model sees them.

Anchors must fit the boxes after the training pipeline's resize, so
:func:`boxes_from_config` builds the config's training dataset (annotations
only: no image is decoded and no transform is run) and applies the scale of
the pipeline's first ``Resize`` the way mmcv's ``Resize`` computes it.

mmengine/mmdet are imported inside the function, so importing this module
stays torch-free.
"""
import argparse
import copy
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

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
        raise ValueError(f'{config}: train_dataloader.dataset concatenates '
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
            raise ValueError(
                f'{config}: the training pipeline resizes with {name}, whose '
                f'scale is random or not supported here; export the resized '
                f'boxes to a file_name,x1,y1,x2,y2 CSV and use --boxes (or '
                f'--image-scale for a fixed factor)')
    return None


def boxes_from_config(config: str,
                      cfg_options: Optional[Union[dict, List[str]]] = None,
                      data_root: Optional[str] = None) -> BoxSet:
    """Boxes of a config's training split after its training resize.

    Builds ``cfg.train_dataloader.dataset`` (unwrapping dataset wrappers such
    as ``MassRepeatDataset``/``RepeatDataset`` down to the innermost
    ``dataset``) with an empty pipeline, takes every non-ignored instance's
    ``bbox`` (x1, y1, x2, y2 in original pixels) and the image's
    ``height``/``width``, and applies the first ``Resize`` of the training
    pipeline (``scale`` with or without ``keep_ratio``, or
    ``scale_factor``), clipping to the resized image as ``Resize`` does
    (``clip_object_border``, default True). Without a ``Resize`` the boxes are
    unchanged. Random crops do not change box sizes and are ignored; the
    image sizes are padded up to ``model.data_preprocessor.pad_size_divisor``
    where the config sets one (they only bound the anchor grid).

    Args:
        config (str): Config file path.
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
        FileNotFoundError: ``config`` does not exist.
        ValueError: No boxes, a random resize, or a concatenated dataset.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'{config}: no such config file')
    from mmengine.config import Config, DictAction
    from mmengine.registry import init_default_scope

    import mmdet_inbreast  # registers INbreastDataset & co.
    if not hasattr(mmdet_inbreast, '__version__'):
        raise RuntimeError(
            'mmdet_inbreast is the anchor tool\'s import stand-in, so nothing '
            'is registered; import mmdet_inbreast before '
            'mmdet_inbreast.anchors (tools/optimize_anchors.py does so for '
            '--config)')
    from mmdet.registry import DATASETS

    from mmdet_inbreast.utils import apply_cfg_options, set_data_root

    cfg = Config.fromfile(config)
    if cfg_options and not isinstance(cfg_options, dict):
        parser = argparse.ArgumentParser()
        parser.add_argument('--o', nargs='+', action=DictAction)
        cfg_options = parser.parse_args(['--o', *cfg_options]).o
    apply_cfg_options(cfg, cfg_options)
    if data_root is not None:
        set_data_root(cfg, data_root)
    init_default_scope(cfg.get('default_scope', 'mmdet'))

    if 'train_dataloader' not in cfg:
        raise ValueError(f'{config}: no train_dataloader; anchors are fitted '
                         f'to the training split')
    ds_cfg = copy.deepcopy(
        _unwrap_dataset(cfg.train_dataloader.dataset.to_dict(), config))
    pipeline = ds_cfg.get('pipeline', [])
    resize = _first_resize(pipeline, config)
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
        name = info.get('file_name') or osp.basename(info.get('img_path', ''))
        padded = (int(np.ceil(height / pad) * pad),
                  int(np.ceil(width / pad) * pad))
        boxes.append(b)
        names += [str(name)] * len(b)
        sizes += [padded] * len(b)
    if not boxes:
        raise ValueError(f'{config}: the training split '
                         f'({ds_cfg.get("ann_file", "?")!r} under '
                         f'{ds_cfg.get("data_root", "?")!r}) has no '
                         f'non-ignored boxes')
    all_boxes = np.concatenate(boxes)
    valid = (all_boxes[:, 2] > all_boxes[:, 0]) & (
        all_boxes[:, 3] > all_boxes[:, 1])
    if not valid.all():
        raise ValueError(f'{config}: {int((~valid).sum())} boxes are empty '
                         f'after the resize, first {all_boxes[~valid][0]}')
    return BoxSet(
        boxes=all_boxes,
        file_names=names,
        image_sizes=np.asarray(sizes, dtype=np.float64),
        source=f'{config} (train split'
        f'{", resized" if resize is not None else ", no resize"})')
