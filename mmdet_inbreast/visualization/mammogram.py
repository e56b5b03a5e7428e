"""Mammograms for the eye: display windowing, boxes, per-image hits and a
contact sheet of the best and worst images.

Frames: every box given to this module is ``x1, y1, x2, y2`` in
original-image pixels (the frame of the dataset's ``instances`` and of the
heads' rescaled predictions); functions that downscale the image scale the
boxes with it. Images are RGB ``uint8`` (H, W, 3), as mmdet's
:class:`~mmdet.visualization.DetLocalVisualizer` draws them; write them with
:func:`save_rgb` (cv2 wants BGR).

Colours: ground truth red ``(255, 0, 0)``, predictions blue ``(0, 0, 255)``
with their score on a blue label. Predictions are drawn first and ground
truth on top of them, so a perfect prediction shows as a red box with a
blue label.
"""
from __future__ import annotations

import os
import os.path as osp
from dataclasses import dataclass
from typing import Optional, Sequence, Union

import numpy as np

#: Ground truth and prediction colours, RGB.
GT_COLOR = (255, 0, 0)
PRED_COLOR = (0, 0, 255)

_VISUALIZER_NAME = 'mmdet_inbreast.mammogram'


def _visualizer():
    """One mmdet ``DetLocalVisualizer`` for all drawing here (mmengine keeps
    visualizers by name: creating a new one per image would leak)."""
    from mmdet.visualization import DetLocalVisualizer
    return DetLocalVisualizer.get_instance(_VISUALIZER_NAME)


def window_for_display(img: np.ndarray,
                       low: float = 1.0,
                       high: float = 99.5) -> np.ndarray:
    """Window a mammogram for display: raw pixels to ``uint8``.

    The window is the ``[low, high]`` percentiles of the **non-zero** pixels
    (the breast), so the black background does not widen it; values are
    mapped linearly to 0-255 and clipped. Raw 0 (background) stays 0 (black)
    whatever the window.

    Args:
        img (np.ndarray): (H, W) or (H, W, 1) raw pixels, any numeric dtype
            (INbreast: ``uint16``, 14 bits used).
        low (float): Lower percentile of the non-zero pixels. Defaults to 1.
        high (float): Upper percentile of the non-zero pixels. Defaults to
            99.5.

    Returns:
        np.ndarray: (H, W) ``uint8``.

    Raises:
        ValueError: If ``img`` is not 2-D (or (H, W, 1)), or the percentiles
            are not ``0 <= low < high <= 100``.
    """
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim != 2:
        raise ValueError(f'expected a (H, W) gray image, got shape '
                         f'{img.shape}')
    if not 0 <= low < high <= 100:
        raise ValueError(f'percentiles must satisfy 0 <= low < high <= 100, '
                         f'got low={low}, high={high}')
    nonzero = img != 0
    out = np.zeros(img.shape, dtype=np.uint8)
    if not nonzero.any():
        return out
    values = img[nonzero].astype(np.float32)
    lo, hi = np.percentile(values, [low, high])
    if hi <= lo:  # flat image: show the breast mid-grey
        out[nonzero] = 128
        return out
    scaled = (values - lo) * (255.0 / (hi - lo))
    out[nonzero] = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return out


def downscale(img: np.ndarray, max_size: Optional[int]) -> tuple[np.ndarray,
                                                                 float]:
    """Shrink ``img`` so that its longer side is at most ``max_size``
    (area interpolation; never enlarges).

    Args:
        img (np.ndarray): (H, W) or (H, W, C) image.
        max_size (int, optional): Longest side in pixels; None or 0 keeps
            the size.

    Returns:
        tuple[np.ndarray, float]: The image and the scale applied (new size
        / old size, the same on both axes up to rounding).
    """
    h, w = img.shape[:2]
    if not max_size or max(h, w) <= max_size:
        return img, 1.0
    import cv2
    scale = max_size / max(h, w)
    size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA), scale


def _as_boxes(boxes) -> np.ndarray:
    if boxes is None:
        return np.zeros((0, 4), dtype=np.float64)
    if hasattr(boxes, 'tensor'):
        boxes = boxes.tensor
    if hasattr(boxes, 'detach'):
        boxes = boxes.detach().cpu().numpy()
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.size == 0:
        return np.zeros((0, 4), dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f'boxes must be (N, 4) x1, y1, x2, y2, got shape '
                         f'{boxes.shape}')
    return boxes


def draw_boxes(img: np.ndarray,
               gt_bboxes: Optional[np.ndarray] = None,
               pred_bboxes: Optional[np.ndarray] = None,
               pred_scores: Optional[np.ndarray] = None,
               scale: float = 1.0,
               line_width: Optional[float] = None,
               font_size: Optional[int] = None) -> np.ndarray:
    """Draw ground truth (red) and predictions (blue, with scores) with
    mmdet's ``DetLocalVisualizer``.

    Args:
        img (np.ndarray): (H, W) gray or (H, W, 3) RGB ``uint8`` display
            image (already windowed and downscaled).
        gt_bboxes (np.ndarray, optional): (G, 4) x1, y1, x2, y2 in
            original-image pixels.
        pred_bboxes (np.ndarray, optional): (P, 4), same frame.
        pred_scores (np.ndarray, optional): (P,) scores written next to the
            predictions (two decimals).
        scale (float): Display size / original size (from
            :func:`downscale`); boxes are multiplied by it. Defaults to 1.
        line_width (float, optional): In display pixels. Defaults to
            ``max(2, min(H, W) / 300)``.
        font_size (int, optional): Defaults to ``max(7, min(H, W) / 50)``.

    Returns:
        np.ndarray: (H, W, 3) RGB ``uint8``, a new array.
    """
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f'expected a (H, W) or (H, W, 3) uint8 image, got '
                         f'{img.shape} {img.dtype}')
    h, w = img.shape[:2]
    line_width = line_width or max(2.0, min(h, w) / 300)
    font_size = font_size or max(7, int(min(h, w) / 50))
    gt = _as_boxes(gt_bboxes) * scale
    pred = _as_boxes(pred_bboxes) * scale
    scores = (np.zeros(0) if pred_scores is None else np.asarray(
        pred_scores, dtype=np.float64).reshape(-1))
    if pred_scores is not None and len(scores) != len(pred):
        raise ValueError(f'{len(pred)} predicted boxes but {len(scores)} '
                         'scores')
    vis = _visualizer()
    vis.set_image(img)
    if len(pred):
        vis.draw_bboxes(pred, edge_colors=PRED_COLOR, alpha=1.0,
                        line_widths=line_width)
        if len(scores):
            # The score sits above the box's top-left corner, or just
            # inside it when the box touches the top of the image.
            above = pred[:, 1] >= font_size + line_width
            for valign, sel in (('bottom', above), ('top', ~above)):
                if not sel.any():
                    continue
                vis.draw_texts([f'{s:.2f}' for s in scores[sel]],
                               pred[sel, :2],
                               colors=(255, 255, 255),
                               font_sizes=font_size,
                               vertical_alignments=valign,
                               bboxes=dict(facecolor=tuple(
                                   c / 255 for c in PRED_COLOR),
                                           alpha=1.0, pad=0.5,
                                           edgecolor='none'))
    if len(gt):
        vis.draw_bboxes(gt, edge_colors=GT_COLOR, alpha=1.0,
                        line_widths=line_width)
    return vis.get_image().copy()


def render_mammogram(pixels: np.ndarray,
                     gt_bboxes: Optional[np.ndarray] = None,
                     pred_bboxes: Optional[np.ndarray] = None,
                     pred_scores: Optional[np.ndarray] = None,
                     max_size: Optional[int] = 1024,
                     low: float = 1.0,
                     high: float = 99.5) -> np.ndarray:
    """Window, downscale and draw: a full mammogram ready to save.

    Args:
        pixels (np.ndarray): (H, W) raw pixels (0 = background).
        gt_bboxes, pred_bboxes (np.ndarray, optional): (N, 4) x1, y1, x2, y2
            in original-image pixels (the frame of ``pixels``).
        pred_scores (np.ndarray, optional): (P,) scores.
        max_size (int, optional): Longest side of the output. Defaults to
            1024; None keeps the full size.
        low, high (float): Display window percentiles, see
            :func:`window_for_display`.

    Returns:
        np.ndarray: (h, w, 3) RGB ``uint8``.
    """
    gray = window_for_display(pixels, low, high)
    gray, scale = downscale(gray, max_size)
    return draw_boxes(gray, gt_bboxes, pred_bboxes, pred_scores, scale=scale)


def save_rgb(path: str, img: np.ndarray) -> str:
    """Write an RGB ``uint8`` image (PNG, JPEG... by extension); creates the
    folder.

    Returns:
        str: ``path``.

    Raises:
        OSError: If cv2 cannot write the file.
    """
    import cv2
    if osp.dirname(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, np.ascontiguousarray(img[..., ::-1])):
        raise OSError(f'{path}: cv2 could not write the image; check the '
                      'extension (.png, .jpg) and that the folder is '
                      'writable')
    return path


@dataclass
class ImageHits:
    """How the predictions of one image fared (see :func:`image_hits`).

    Attributes:
        tp (int): Ground-truth boxes found (true positives).
        fp (int): False positives.
        missed (int): Ground-truth boxes not found.
        num_gt (int): Ground-truth boxes (``ignore_flag`` boxes excluded).
    """
    tp: int
    fp: int
    missed: int
    num_gt: int

    @property
    def score(self) -> int:
        """``tp - fp`` (boxes found minus false positives)."""
        return self.tp - self.fp


def image_hits(pred_bboxes: np.ndarray,
               pred_scores: np.ndarray,
               gt_bboxes: np.ndarray,
               gt_ignore_flags: Optional[np.ndarray] = None,
               score_thr: float = 0.3,
               iou_thr: float = 0.5) -> ImageHits:
    """Count the hits of one image's predictions with score >= ``score_thr``.

    Matching is the FROC metric's
    (:func:`~mmdet_inbreast.evaluation.functional.froc.match_predictions`,
    ``hit='iou'``, duplicates ignored): a prediction finds a box at IoU >=
    ``iou_thr``; one on an already found box or on an ``ignore_flag`` box
    is neither a hit nor a false positive.

    Args:
        pred_bboxes (np.ndarray): (P, 4) x1, y1, x2, y2, original pixels.
        pred_scores (np.ndarray): (P,).
        gt_bboxes (np.ndarray): (G, 4), same frame.
        gt_ignore_flags (np.ndarray, optional): (G,) bool.
        score_thr (float): Predictions below it are not counted. Defaults
            to 0.3.
        iou_thr (float): Defaults to 0.5.

    Returns:
        ImageHits: tp, fp, missed, num_gt.
    """
    from ..evaluation.functional.froc import match_predictions
    pred = _as_boxes(pred_bboxes)
    scores = np.asarray(pred_scores, dtype=np.float64).reshape(-1)
    gt = _as_boxes(gt_bboxes)
    ignore = (np.zeros(len(gt), dtype=bool) if gt_ignore_flags is None else
              np.asarray(gt_ignore_flags, dtype=bool).reshape(-1))
    keep = scores >= score_thr
    tp, fp = match_predictions(pred[keep], scores[keep], gt, ignore,
                               iou_thr=iou_thr)
    num_gt = int((~ignore).sum())
    return ImageHits(tp=int(tp.sum()), fp=int(fp.sum()),
                     missed=num_gt - int(tp.sum()), num_gt=num_gt)


def rank_images(hits: Sequence[ImageHits],
                names: Optional[Sequence[str]] = None) -> list[int]:
    """Order images from best to worst.

    Ranking: fewer missed boxes first, then fewer false positives (at the
    score threshold), then more boxes found, then by name (or index) for a
    stable order. The worst image is thus the one that missed the most
    masses, and among equal misses the one with the most false positives;
    a clean negative ranks with the perfect positives, after them.

    Args:
        hits (Sequence[ImageHits]): One per image.
        names (Sequence[str], optional): Tie-breaker, e.g. file names.

    Returns:
        list[int]: Indices into ``hits``, best first.
    """
    names = list(names) if names is not None else [
        f'{i:09d}' for i in range(len(hits))
    ]
    return sorted(range(len(hits)),
                  key=lambda i: (hits[i].missed, hits[i].fp, -hits[i].tp,
                                 names[i]))


def is_failure(hits: ImageHits) -> bool:
    """Whether an image has a missed box or a false positive."""
    return hits.missed > 0 or hits.fp > 0


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
