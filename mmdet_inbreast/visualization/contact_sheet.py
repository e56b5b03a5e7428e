"""A contact sheet: the best images in the top row, the worst failures
below (ranked by :func:`~.hits.rank_images`), each tile titled.
"""
from __future__ import annotations

import os
from typing import Sequence, Union

import numpy as np

from .hits import ImageHits, is_failure, rank_images
from .mammogram import _visualizer


def _read_rgb(image: Union[np.ndarray, str]) -> np.ndarray:
    """An RGB ``uint8`` image, read from disk when given a path."""
    if not isinstance(image, (str, os.PathLike)):
        return image
    import cv2
    img = cv2.imread(str(image), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f'{image}: cannot read the image')
    return img[..., ::-1]


def _fit_tile(img: np.ndarray, size: int) -> np.ndarray:
    """Letterbox an RGB image into a ``size`` x ``size`` dark-grey tile."""
    import cv2
    h, w = img.shape[:2]
    scale = size / max(h, w)
    nh, nw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    small = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
    tile = np.full((size, size, 3), 40, dtype=np.uint8)
    y0, x0 = (size - nh) // 2, (size - nw) // 2
    tile[y0:y0 + nh, x0:x0 + nw] = small
    return tile


def contact_sheet(images: Sequence[Union[np.ndarray, str]],
                  hits: Sequence[ImageHits],
                  names: Sequence[str],
                  num: int = 4,
                  tile_size: int = 320) -> np.ndarray:
    """A grid of the ``num`` best images (top row) and the ``num`` worst
    failures (bottom row), ranked by :func:`rank_images`.

    The worst row holds only failures (:func:`is_failure`: a missed box or
    a false positive), worst first: most missed boxes, then most false
    positives. When no image fails, the row says so in words instead of
    showing images that did nothing wrong. The best row takes the top of
    the ranking among the images not in the worst row, so no image shows
    twice. Each tile is captioned ``name  tp/num_gt found, fp FP``.

    Args:
        images (Sequence[np.ndarray | str]): Rendered RGB ``uint8`` images
            (e.g. from :func:`render_mammogram`), or the paths of the files
            they were saved to (only the chosen ones are read), one per
            image.
        hits (Sequence[ImageHits]): Same order.
        names (Sequence[str]): Same order (captions and tie-breaks).
        num (int): Tiles per row. Defaults to 4.
        tile_size (int): Tile side in pixels. Defaults to 320.

    Returns:
        np.ndarray: (2 * (tile_size + caption), label + cols * tile_size,
        3) RGB ``uint8``, ``cols`` the longer row (at least 1).

    Raises:
        ValueError: If the sequences differ in length or are empty.
    """
    if not len(images) == len(hits) == len(names):
        raise ValueError(f'{len(images)} images, {len(hits)} hits and '
                         f'{len(names)} names: expected one of each per image')
    if not images:
        raise ValueError('contact_sheet needs at least one image')
    order = rank_images(hits, names)
    worst = [i for i in order[::-1] if is_failure(hits[i])][:num]
    best = [i for i in order if i not in worst][:num]
    caption = max(16, tile_size // 14)
    label_w = caption * 4
    row_h = tile_size + caption
    cols = max(len(best), len(worst), 1)
    sheet = np.full((2 * row_h, label_w + cols * tile_size, 3), 255,
                    dtype=np.uint8)
    texts, positions = [], []
    for row, (label, idx) in enumerate((('best', best), ('worst', worst))):
        y0 = row * row_h
        texts.append(label)
        positions.append((4, y0 + caption + tile_size // 2))
        for col, i in enumerate(idx):
            x0 = label_w + col * tile_size
            sheet[y0 + caption:y0 + row_h, x0:x0 + tile_size] = _fit_tile(
                _read_rgb(images[i]), tile_size)
            h = hits[i]
            texts.append(f'{names[i]}  {h.tp}/{h.num_gt} found, {h.fp} FP')
            positions.append((x0 + 4, y0 + 2))
    if not worst:
        texts.append(f'no failures: all {len(images)} images have every box '
                     'found and no false positive')
        positions.append((label_w + 4, row_h + caption + tile_size // 2))
    vis = _visualizer()
    vis.set_image(sheet)
    vis.draw_texts(texts, np.asarray(positions, dtype=np.float64),
                   colors=(0, 0, 0), font_sizes=max(7, caption * 2 // 3),
                   vertical_alignments='top')
    return vis.get_image().copy()
