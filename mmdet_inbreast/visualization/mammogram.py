"""Mammograms for the eye: display windowing and boxes (the contact sheet
of the best and worst images is in :mod:`.contact_sheet`).

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
from typing import Optional

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
