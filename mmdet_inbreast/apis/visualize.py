"""Pictures of a split: each image of a release split with its ground truth
(red) and a detector's predictions (blue), and a contact sheet of the best
images and the worst failures."""
from __future__ import annotations

import copy
import os
import os.path as osp
from typing import Callable, Iterable, Optional, Sequence

import numpy as np

from .inference import build_dicom_pipeline, predict_dicom


def load_split_infos(cfg, split: str = 'test') -> list[dict]:
    """The data infos of a split, from the config's dataset settings.

    Args:
        cfg (Config): Resolved config (``data_root`` already set).
        split (str): ``'test'``, ``'val'``, ``'train'`` (the dataloader's
            dataset, wrappers unwrapped) or a split file (relative to the
            data root unless it exists as given or is absolute).

    Returns:
        list[dict]: INbreastDataset data infos (``img_path``, ``file_name``,
        ``instances`` with ``bbox`` in original-image pixels, ...).
    """
    from mmengine.registry import init_default_scope
    from mmdet.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    key = split if split in ('train', 'val', 'test') else 'test'
    ds_cfg = cfg[f'{key}_dataloader']['dataset']
    while 'pipeline' not in ds_cfg and 'dataset' in ds_cfg:
        ds_cfg = ds_cfg['dataset']
    ds_cfg = copy.deepcopy(dict(ds_cfg))
    if split not in ('train', 'val', 'test'):
        ds_cfg['ann_file'] = osp.abspath(split) if osp.isfile(
            split) else split
    ds_cfg.update(pipeline=[], test_mode=True, serialize_data=False)
    return list(DATASETS.build(ds_cfg).data_list)


def visualize_split(model,
                    data_infos: Sequence[dict],
                    out_dir: str,
                    score_thr: float = 0.3,
                    max_size: Optional[int] = 1024,
                    num: int = 4,
                    progress: Optional[Callable[[Iterable], Iterable]] = None
                    ) -> list[dict]:
    """Draw each image of a split (ground truth red, predictions >=
    ``score_thr`` blue) to ``<out_dir>/<file_name>.png``, and the best and
    worst ``num`` images to ``<out_dir>/contact_sheet.png``.

    Per-image hits and the ranking are those of
    :func:`~mmdet_inbreast.visualization.hits.image_hits` and
    :func:`~mmdet_inbreast.visualization.hits.rank_images` (missed
    boxes at IoU >= 0.5, then false positives, at ``score_thr``).

    Args:
        model (nn.Module): From
            :func:`~mmdet_inbreast.apis.inference.init_inbreast_detector`.
        data_infos (Sequence[dict]): From :func:`load_split_infos`.
        out_dir (str): Created if needed.
        score_thr (float): Defaults to 0.3.
        max_size (int, optional): Longest side of each PNG. Defaults to 1024.
        num (int): Images per row of the contact sheet. Defaults to 4.
        progress (callable, optional): Wraps the iterable.

    Returns:
        list[dict]: Per image, best first: ``file_name``, ``png``, ``tp``,
        ``fp``, ``missed``, ``num_gt``, ``rank``.
    """
    from ..visualization import (contact_sheet, image_hits, rank_images,
                                 render_mammogram, save_rgb)
    os.makedirs(out_dir, exist_ok=True)
    pipeline = build_dicom_pipeline(model)
    hits, names, pngs = [], [], []
    infos = list(data_infos)
    for info in (progress(infos) if progress else infos):
        pred = predict_dicom(model, info['img_path'], pipeline,
                             modalities=None, keep_image=True).above(score_thr)
        inst = info.get('instances', [])
        gt = np.asarray([i['bbox'] for i in inst],
                        dtype=np.float64).reshape(-1, 4)
        flags = np.asarray([i.get('ignore_flag', 0) for i in inst], bool)
        img = render_mammogram(pred.image, gt, pred.bboxes, pred.scores,
                               max_size=max_size)
        name = str(info.get('file_name') or osp.splitext(
            osp.basename(info['img_path']))[0])
        pngs.append(save_rgb(osp.join(out_dir, f'{name}.png'), img))
        names.append(name)
        hits.append(image_hits(pred.bboxes, pred.scores, gt, flags,
                               score_thr=score_thr))
    if not infos:
        return []
    save_rgb(osp.join(out_dir, 'contact_sheet.png'),
             contact_sheet(pngs, hits, names, num=num))
    order = rank_images(hits, names)
    return [
        dict(rank=r + 1, file_name=names[i], png=pngs[i], tp=hits[i].tp,
             fp=hits[i].fp, missed=hits[i].missed, num_gt=hits[i].num_gt)
        for r, i in enumerate(order)
    ]


__all__ = ['load_split_infos', 'visualize_split']
