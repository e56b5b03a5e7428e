"""IoU core of the anchor optimiser against brute-force loops and mmdet."""
import math

import numpy as np
import pytest

from mmdet_inbreast.anchors.iou import (anchor_shapes, best_iou, box_sizes,
                                        centred_best_iou, grid_best_iou,
                                        grid_shape, nearest_grid_boxes,
                                        pairwise_iou)

STRIDES = (8, 16, 32, 64, 128)


def random_boxes(rng: np.random.Generator,
                 n: int,
                 image: float = 700.0,
                 min_size: float = 4.0,
                 max_size: float = 400.0) -> np.ndarray:
    """(n, 4) boxes with log-uniform sizes, some touching 0 and the edge."""
    w = np.exp(rng.uniform(np.log(min_size), np.log(max_size), n))
    h = w * np.exp(rng.uniform(-0.8, 0.8, n))
    x1 = rng.uniform(0, np.maximum(image - w, 0))
    y1 = rng.uniform(0, np.maximum(image - h, 0))
    boxes = np.stack([x1, y1, x1 + w, y1 + h], axis=1)
    boxes[:3, 0] = 0.0  # a 0 coordinate is a valid box
    boxes[3:5, 1] = 0.0
    return boxes


def iou_loop(a, b) -> float:
    """IoU of two x1, y1, x2, y2 boxes, one scalar at a time."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] -
                                                             b[1]) - inter
    return inter / union


def anchors_loop(ratios, scales, stride, cx, cy):
    """mmdet's recipe written out: h_ratio = sqrt(r), w = s * k / h_ratio."""
    out = []
    for r in ratios:
        for k in scales:
            h_ratio = math.sqrt(r)
            w = stride * (1 / h_ratio) * k
            h = stride * h_ratio * k
            out.append(
                [cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h])
    return out


def test_pairwise_iou_matches_loop():
    rng = np.random.default_rng(0)
    a, b = random_boxes(rng, 30), random_boxes(rng, 25)
    got = pairwise_iou(a, b)
    want = np.array([[iou_loop(x, y) for y in b] for x in a])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    assert got.shape == (30, 25)
    assert (want > 0).any() and (want == 0).any()


@pytest.mark.parametrize('ratios,scales', [
    ([0.5, 1.0, 2.0], [4.0, 5.04, 6.35]),
    ([0.7159, 1.0, 1.3968], [7.627, 9.468, 12.46]),
    ([1.0], [3.0]),
    ([0.6, 0.8, 1.0, 1.25, 1.7], [9.0, 12.0, 15.0]),
])
def test_centred_best_iou_matches_loop(ratios, scales):
    rng = np.random.default_rng(1)
    boxes = random_boxes(rng, 40)
    got = centred_best_iou(
        box_sizes(boxes), anchor_shapes(ratios, scales, STRIDES))
    want = []
    for box in boxes:
        w, h = box[2] - box[0], box[3] - box[1]
        centred = [-w / 2, -h / 2, w / 2, h / 2]
        want.append(
            max(
                iou_loop(centred, a) for s in STRIDES
                for a in anchors_loop(ratios, scales, s, 0.0, 0.0)))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


@pytest.mark.parametrize('ratios,scales,with_size', [
    ([0.5, 1.0, 2.0], [4.0, 5.04, 6.35], False),
    ([0.731, 1.0, 1.368], [9.354, 12.44, 15.23], True),
    ([0.8, 1.25], [2.0], True),
])
def test_grid_best_iou_matches_whole_grid_loop(ratios, scales, with_size):
    """The nearest node per level is the best over the whole grid."""
    rng = np.random.default_rng(2)
    image_h, image_w = 300, 360
    boxes = random_boxes(rng, 14, image=image_h, max_size=250)
    boxes[-1] = [330.0, 250.0, 359.0, 299.0]  # in the last cells
    sizes = np.tile([image_h, image_w], (len(boxes), 1)) if with_size else None
    got = grid_best_iou(
        nearest_grid_boxes(boxes, STRIDES, sizes),
        anchor_shapes(ratios, scales, STRIDES))
    want = []
    for box in boxes:
        best = 0.0
        for s in STRIDES:
            if with_size:
                nh, nw = grid_shape((image_h, image_w), s)
            else:  # unbounded grid: nodes well past the box
                nw = int((box[2] + 3 * s) // s) + 1
                nh = int((box[3] + 3 * s) // s) + 1
            for j in range(nh):
                for i in range(nw):
                    for a in anchors_loop(ratios, scales, s, i * s, j * s):
                        best = max(best, iou_loop(box, a))
        want.append(best)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


def test_grid_bound_matters_at_the_image_edge():
    # A 100 x 100 image has one stride-128 cell (node 0): a box centred at
    # x = 90 must use node 0, not the unbounded nearest node 128.
    box = np.array([[60.0, 10.0, 120.0, 30.0]])
    rel_free = nearest_grid_boxes(box, [128])
    rel_bound = nearest_grid_boxes(box, [128], np.array([[100, 100]]))
    np.testing.assert_allclose(rel_free[0, 0], [60 - 128, 10, 120 - 128, 30])
    np.testing.assert_allclose(rel_bound[0, 0], [60, 10, 120, 30])


def test_batched_equals_single():
    rng = np.random.default_rng(3)
    boxes = random_boxes(rng, 20)
    ratios = np.exp(rng.uniform(-0.5, 0.5, (6, 3)))
    scales = np.exp(rng.uniform(0.5, 2.5, (6, 2)))
    for with_stride in (False, True):
        batched = best_iou(boxes, ratios, scales, STRIDES, with_stride)
        assert batched.shape == (6, 20)
        for p in range(6):
            single = best_iou(boxes, ratios[p], scales[p], STRIDES,
                              with_stride)
            np.testing.assert_array_equal(batched[p], single)


def test_anchor_shapes_match_mmdet_base_anchors():
    from mmdet.models.task_modules.prior_generators import AnchorGenerator
    ratios, scales = [0.5, 0.731, 1.0, 1.368, 2.0], [4.0, 9.354, 15.23]
    gen = AnchorGenerator(strides=list(STRIDES), ratios=ratios, scales=scales)
    shapes = anchor_shapes(ratios, scales, STRIDES)
    for level, base in enumerate(gen.base_anchors):
        base = base.numpy().astype(np.float64)
        np.testing.assert_allclose(
            base[:, 2] - base[:, 0], shapes[level, :, 0], rtol=1e-6)
        np.testing.assert_allclose(
            base[:, 3] - base[:, 1], shapes[level, :, 1], rtol=1e-6)
        # mmdet centres base anchors on 0 (center_offset=0)
        np.testing.assert_allclose(base[:, 0] + base[:, 2], 0, atol=1e-4)


def test_grid_best_iou_matches_mmdet_grid():
    """Against AnchorGenerator.grid_priors and mmdet's bbox_overlaps."""
    import torch
    from mmdet.models.task_modules.prior_generators import AnchorGenerator
    from mmdet.structures.bbox import bbox_overlaps

    rng = np.random.default_rng(4)
    image_h, image_w = 416, 510  # padded to 32 by the model: 416 x 512
    boxes = random_boxes(rng, 60, image=image_h, max_size=300)
    boxes[-4:, 2] = image_w - rng.uniform(0, 3, 4)  # at the right edge
    boxes[-4:, 0] = boxes[-4:, 2] - rng.uniform(10, 60, 4)
    ratios, scales = [0.731, 1.0, 1.368], [9.354, 12.44, 15.23]
    gen = AnchorGenerator(strides=list(STRIDES), ratios=ratios, scales=scales)
    padded = (416, 512)
    feats = [grid_shape(padded, s) for s in STRIDES]
    priors = torch.cat(gen.grid_priors(feats, device='cpu'))
    want = bbox_overlaps(torch.tensor(boxes, dtype=torch.float32), priors)
    want = want.max(dim=1).values.double().numpy()
    sizes = np.tile(padded, (len(boxes), 1))
    got = best_iou(boxes, ratios, scales, STRIDES, True, sizes)
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-5)  # float32 mmdet
