"""Anchor shapes and best-anchor IoU, vectorised in NumPy.

Everything here mirrors mmdet's ``AnchorGenerator`` (mmdet 3.3,
``mmdet/models/task_modules/prior_generators/anchor_generator.py``) with
``center_offset=0``, ``centers=None`` and ``base_sizes=strides``:

- a level with stride ``s`` has base size ``s``; a ratio ``r`` is
  ``h / w``; ``h_ratio = sqrt(r)``, ``w_ratio = 1 / h_ratio``; the anchor of
  ratio ``r`` and scale ``k`` is ``w = s * w_ratio * k``,
  ``h = s * h_ratio * k``
  (``scale_major=True``: ratio-major order, scales vary fastest);
- the anchor at feature-map cell ``(i, j)`` (column, row) is centred on the
  pixel ``(i * s, j * s)``, so the grid starts at the image origin.

IoU is mmdet's (``bbox_overlaps``, no ``+1`` pixel convention): boxes are
``(x1, y1, x2, y2)`` float pixels, area ``(x2 - x1) * (y2 - y1)``.

No torch or mmdet import: this module is imported by the anchor tool before
(and usually without) mmdet.
"""
from typing import Optional, Sequence, Tuple

import numpy as np

# Keep one (population chunk x boxes x levels x anchors) block under about
# 4 million float64 elements (32 MB) per intermediate array.
_MAX_BLOCK_ELEMENTS = 4_000_000


def anchor_shapes(ratios: np.ndarray, scales: np.ndarray,
                  strides: Sequence[int]) -> np.ndarray:
    """Anchor widths and heights of every level, as ``AnchorGenerator``.

    Args:
        ratios (np.ndarray): Ratios ``h / w``, shape ``(R,)`` or ``(P, R)``
            for ``P`` candidate anchor sets.
        scales (np.ndarray): Scales as multipliers of the stride, shape
            ``(S,)`` or ``(P, S)``.
        strides (Sequence[int]): Stride (= base size) of each FPN level,
            length ``L``.

    Returns:
        np.ndarray: float64, shape ``(L, R * S, 2)`` (or ``(P, L, R * S, 2)``
        for batched input), last axis ``(w, h)`` in pixels, anchors of a level
        in ``AnchorGenerator.base_anchors`` order (ratio-major).
    """
    ratios = np.asarray(ratios, dtype=np.float64)
    scales = np.asarray(scales, dtype=np.float64)
    batched = ratios.ndim == 2
    if not batched:
        ratios, scales = ratios[None], scales[None]
    strides_arr = np.asarray(strides, dtype=np.float64)
    h_ratios = np.sqrt(ratios)
    w_ratios = 1 / h_ratios
    # (P, R, S) -> (P, A)
    ws = (w_ratios[:, :, None] * scales[:, None, :]).reshape(len(ratios), -1)
    hs = (h_ratios[:, :, None] * scales[:, None, :]).reshape(len(ratios), -1)
    wh = np.stack([ws, hs], axis=-1)  # (P, A, 2)
    out = strides_arr[None, :, None, None] * wh[:, None]  # (P, L, A, 2)
    return out if batched else out[0]


def pairwise_iou(boxes: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """IoU of every box with every anchor (mmdet's ``bbox_overlaps``).

    Args:
        boxes (np.ndarray): ``(N, 4)`` x1, y1, x2, y2 in pixels.
        anchors (np.ndarray): ``(M, 4)`` x1, y1, x2, y2 in pixels.

    Returns:
        np.ndarray: float64 ``(N, M)`` IoU.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    anchors = np.asarray(anchors, dtype=np.float64)
    lt = np.maximum(boxes[:, None, :2], anchors[None, :, :2])
    rb = np.minimum(boxes[:, None, 2:], anchors[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_b = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    area_a = (anchors[:, 2] - anchors[:, 0]) * (anchors[:, 3] - anchors[:, 1])
    return inter / (area_b[:, None] + area_a[None, :] - inter)


def _chunks(num_sets: int, per_set: int):
    """Yield slices over ``num_sets`` keeping ``slice * per_set`` bounded."""
    step = max(1, _MAX_BLOCK_ELEMENTS // max(per_set, 1))
    for start in range(0, num_sets, step):
        yield slice(start, min(start + step, num_sets))


def centred_best_iou(box_wh: np.ndarray, anchor_wh: np.ndarray) -> np.ndarray:
    """Best IoU of each box with anchors centred on the box (stride-free).

    With both centred at the same point, ``IoU = min(w) * min(h) /
    (w_b * h_b + w_a * h_a - min(w) * min(h))``: each box is compared with
    every anchor shape of every level as if an anchor sat exactly on its
    centre, which is the best the grid could ever offer.

    Args:
        box_wh (np.ndarray): ``(N, 2)`` box widths and heights in pixels.
        anchor_wh (np.ndarray): ``(L, A, 2)`` or ``(P, L, A, 2)`` anchor
            widths and heights (:func:`anchor_shapes`).

    Returns:
        np.ndarray: float64 best IoU per box, ``(N,)`` (or ``(P, N)``).
    """
    box_wh = np.asarray(box_wh, dtype=np.float64)
    anchor_wh = np.asarray(anchor_wh, dtype=np.float64)
    batched = anchor_wh.ndim == 4
    if not batched:
        anchor_wh = anchor_wh[None]
    num_sets = anchor_wh.shape[0]
    flat = anchor_wh.reshape(num_sets, -1, 2)  # (P, K, 2), K = L * A
    bw = box_wh[None, :, None, 0]  # (1, N, 1)
    bh = box_wh[None, :, None, 1]
    area_b = bw * bh
    out = np.empty((num_sets, len(box_wh)))
    for sl in _chunks(num_sets, len(box_wh) * flat.shape[1]):
        aw = np.ascontiguousarray(flat[sl, None, :, 0])  # (p, 1, K)
        ah = np.ascontiguousarray(flat[sl, None, :, 1])
        inter = np.minimum(aw, bw)
        inter *= np.minimum(ah, bh)
        # IoU = I / (A + B - I) grows with q = I / (A + B): take the max of
        # q (one pass fewer over the block), then IoU = q / (1 - q).
        q = inter
        q /= aw * ah + area_b
        out[sl] = q.max(axis=-1)
    out = out / (1 - out)
    return out if batched else out[0]


def nearest_grid_boxes(boxes: np.ndarray,
                       strides: Sequence[int],
                       image_sizes: Optional[np.ndarray] = None) -> np.ndarray:
    """Boxes relative to the nearest anchor centre of each level.

    For two axis-aligned boxes, the intersection width depends only on the
    x offset of their centres and does not grow with ``|dx|``, likewise for
    height, and IoU grows with the intersection. So, for every anchor shape at
    once, the best anchor of a level is the one at the grid node nearest to
    the box centre along each axis: one node per level is exact, not an
    approximation (tests check this against the whole mmdet grid).

    Args:
        boxes (np.ndarray): ``(N, 4)`` x1, y1, x2, y2 in the pixels the model
            sees (after any resize).
        strides (Sequence[int]): Stride of each level, length ``L``.
        image_sizes (np.ndarray, optional): ``(N, 2)`` (height, width) of each
            box's image, used only to bound the grid: a level's feature map
            has ``ceil(size / stride)`` cells per axis (mmdet's ResNet/FPN
            arithmetic), so its last node is ``(ceil(size / stride) - 1) *
            stride``. Pass the padded size if the data preprocessor pads.
            None means an unbounded grid (nodes from 0 upwards). Defaults to
            None.

    Returns:
        np.ndarray: float64 ``(N, L, 4)`` box corners minus the chosen grid
        node ``(gx, gy, gx, gy)``.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    strides_arr = np.asarray(strides, dtype=np.float64)
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    ix = np.rint(cx[:, None] / strides_arr[None])  # (N, L)
    iy = np.rint(cy[:, None] / strides_arr[None])
    ix = np.maximum(ix, 0)
    iy = np.maximum(iy, 0)
    if image_sizes is not None:
        sizes = np.asarray(image_sizes, dtype=np.float64)
        last_x = np.ceil(sizes[:, 1:2] / strides_arr[None]) - 1
        last_y = np.ceil(sizes[:, 0:1] / strides_arr[None]) - 1
        ix = np.minimum(ix, last_x)
        iy = np.minimum(iy, last_y)
    gx = ix * strides_arr[None]
    gy = iy * strides_arr[None]
    shift = np.stack([gx, gy, gx, gy], axis=-1)  # (N, L, 4)
    return boxes[:, None, :] - shift


def grid_best_iou(rel_boxes: np.ndarray, anchor_wh: np.ndarray) -> np.ndarray:
    """Best IoU of each box with the anchors on the real grid.

    Args:
        rel_boxes (np.ndarray): ``(N, L, 4)`` boxes relative to their nearest
            grid node per level (:func:`nearest_grid_boxes`).
        anchor_wh (np.ndarray): ``(L, A, 2)`` or ``(P, L, A, 2)`` anchor
            widths and heights; anchors are centred on the node.

    Returns:
        np.ndarray: float64 best IoU per box over all levels and shapes,
        ``(N,)`` (or ``(P, N)``).
    """
    rel_boxes = np.asarray(rel_boxes, dtype=np.float64)
    anchor_wh = np.asarray(anchor_wh, dtype=np.float64)
    batched = anchor_wh.ndim == 4
    if not batched:
        anchor_wh = anchor_wh[None]
    num_sets, num_levels, num_anchors, _ = anchor_wh.shape
    num_boxes = rel_boxes.shape[0]
    if rel_boxes.shape[1] != num_levels:
        raise ValueError(f'rel_boxes has {rel_boxes.shape[1]} levels but the '
                         f'anchors have {num_levels}; compute both with the '
                         f'same strides')
    # (1, N, L, 1) box coordinates; (p, 1, L, A) anchor half sizes.
    bx1, by1, bx2, by2 = (rel_boxes[None, :, :, k, None] for k in range(4))
    area_b = (bx2 - bx1) * (by2 - by1)
    out = np.empty((num_sets, num_boxes))
    per_set = num_boxes * num_levels * num_anchors
    for sl in _chunks(num_sets, per_set):
        # mmdet: x1 = 0 - 0.5 * w, x2 = 0 + 0.5 * w
        hw = 0.5 * anchor_wh[sl, None, :, :, 0]  # (p, 1, L, A), contiguous
        hh = 0.5 * anchor_wh[sl, None, :, :, 1]
        iw = np.minimum(bx2, hw)
        iw -= np.maximum(bx1, -hw)
        np.clip(iw, 0, None, out=iw)
        ih = np.minimum(by2, hh)
        ih -= np.maximum(by1, -hh)
        np.clip(ih, 0, None, out=ih)
        iw *= ih  # intersection
        # max of q = I / (A + B), then IoU = q / (1 - q) (see above).
        iw /= area_b + 4 * hw * hh
        out[sl] = iw.reshape(iw.shape[0], num_boxes, -1).max(axis=-1)
    out = out / (1 - out)
    return out if batched else out[0]


def best_iou(boxes: np.ndarray,
             ratios: np.ndarray,
             scales: np.ndarray,
             strides: Sequence[int],
             with_stride: bool = False,
             image_sizes: Optional[np.ndarray] = None) -> np.ndarray:
    """Best IoU of each box over all anchors of one or many anchor sets.

    Args:
        boxes (np.ndarray): ``(N, 4)`` x1, y1, x2, y2 in the pixels the model
            sees.
        ratios (np.ndarray): ``(R,)`` or ``(P, R)`` ratios ``h / w``.
        scales (np.ndarray): ``(S,)`` or ``(P, S)`` scales (multipliers of
            the stride).
        strides (Sequence[int]): FPN strides.
        with_stride (bool): False compares each box with anchors centred on
            it (stride-free); True places the anchors on mmdet's real grid
            (:func:`nearest_grid_boxes`). Defaults to False.
        image_sizes (np.ndarray, optional): ``(N, 2)`` (height, width) bounding
            the grid in ``with_stride`` mode. Defaults to None.

    Returns:
        np.ndarray: float64 ``(N,)`` (or ``(P, N)``) best IoU.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    wh = anchor_shapes(ratios, scales, strides)
    if with_stride:
        return grid_best_iou(
            nearest_grid_boxes(boxes, strides, image_sizes), wh)
    return centred_best_iou(box_sizes(boxes), wh)


def box_sizes(boxes: np.ndarray) -> np.ndarray:
    """Widths and heights of ``(N, 4)`` x1, y1, x2, y2 boxes, ``(N, 2)``."""
    boxes = np.asarray(boxes, dtype=np.float64)
    return np.stack([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]],
                    axis=1)


def grid_shape(size: Tuple[int, int], stride: int) -> Tuple[int, int]:
    """Feature-map ``(h, w)`` of a level for an input of ``size`` (h, w)."""
    return int(np.ceil(size[0] / stride)), int(np.ceil(size[1] / stride))
