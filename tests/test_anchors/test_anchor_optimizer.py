"""Differential-evolution anchor search: quality, determinism, robustness."""
import numpy as np
import pytest

from mmdet_inbreast.anchors.optimizer import (default_anchors,
                                              evaluate_anchors,
                                              optimize_anchors)

SMALL = dict(popsize=6, maxiter=40)  # a small budget keeps tests fast


def mass_like_boxes(n: int = 60, seed: int = 0) -> np.ndarray:
    """(n, 4) boxes with INbreast-like sizes (about 50-1000 px, h/w 0.5-2)."""
    rng = np.random.default_rng(seed)
    size = np.exp(rng.normal(np.log(270), 0.6, n)).clip(45, 1000)
    aspect = np.exp(rng.normal(0, 0.25, n))
    w, h = size / np.sqrt(aspect), size * np.sqrt(aspect)
    x1 = rng.uniform(0, 3328 - w)
    y1 = rng.uniform(0, 4084 - h)
    boxes = np.stack([x1, y1, x1 + w, y1 + h], axis=1)
    boxes[0, :2] = 0.0  # corner of the image: a 0 coordinate counts
    return boxes


def test_default_anchors_are_mmdet_retinanet():
    from mmdet.models.task_modules.prior_generators import AnchorGenerator
    ratios, scales = default_anchors()
    gen = AnchorGenerator(
        strides=[8, 16, 32, 64, 128],
        ratios=[0.5, 1.0, 2.0],
        octave_base_scale=4,
        scales_per_octave=3)
    np.testing.assert_allclose(scales, gen.scales.numpy(), rtol=1e-6)
    np.testing.assert_allclose(ratios, gen.ratios.numpy())


def test_evaluate_exact_anchor_has_iou_one():
    # the stride-16, scale-4, ratio-0.5 anchor (w = 16 * 4 / sqrt(0.5) =
    # 90.5, h = 16 * 4 * sqrt(0.5) = 45.3) at node (2, 3), i.e. (32, 48)
    w, h = 16 * 4 / np.sqrt(0.5), 16 * 4 * np.sqrt(0.5)
    box = np.array([[32 - w / 2, 48 - h / 2, 32 + w / 2, 48 + h / 2]])
    ev = evaluate_anchors(box, [0.5], [4.0], strides=[16], with_stride=True)
    assert ev.mean_best_iou == pytest.approx(1.0, abs=1e-12)
    assert ev.unmatched == 0 and ev.objective_value == pytest.approx(0.0)
    # shifted by half a cell (8 px) in x: IoU = (w - 8) / (w + 8)
    ev = evaluate_anchors(
        box + [8, 0, 8, 0], [0.5], [4.0], strides=[16], with_stride=True)
    assert ev.mean_best_iou == pytest.approx((w - 8) / (w + 8), abs=1e-12)


@pytest.mark.parametrize('objective', ['focal', 'avg', 'unmatched'])
@pytest.mark.parametrize('with_stride', [False, True])
def test_result_no_worse_than_default(objective, with_stride):
    boxes = mass_like_boxes()
    res = optimize_anchors(
        boxes, 3, 3, objective, with_stride, seed=0, **SMALL)
    ratios, scales = default_anchors()
    default = evaluate_anchors(
        boxes, ratios, scales, with_stride=with_stride, objective=objective)
    assert res.evaluation.objective_value <= default.objective_value
    assert res.evaluation.mean_best_iou > default.mean_best_iou
    assert res.evaluation.best_iou.shape == (len(boxes), )  # no box dropped
    assert len(res.ratios) == 3 and len(res.scales) == 3
    assert res.ratios == sorted(res.ratios) and res.ratios[1] == 1.0
    assert res.ratios[0] == pytest.approx(1 / res.ratios[2], rel=1e-3)


def test_figures_are_those_of_the_rounded_anchors():
    boxes = mass_like_boxes()
    res = optimize_anchors(
        boxes, 5, 2, 'focal', True, seed=1, decimals=2, **SMALL)
    assert all(round(v, 2) == v for v in res.ratios + res.scales)
    again = evaluate_anchors(boxes, res.ratios, res.scales, with_stride=True)
    assert again.objective_value == res.evaluation.objective_value
    assert again.unmatched == res.evaluation.unmatched


def test_same_seed_same_result():
    boxes = mass_like_boxes(seed=3)
    a = optimize_anchors(boxes, 3, 3, 'focal', True, seed=7, **SMALL)
    b = optimize_anchors(boxes, 3, 3, 'focal', True, seed=7, **SMALL)
    assert (a.ratios, a.scales) == (b.ratios, b.scales)
    assert a.evaluation.objective_value == b.evaluation.objective_value
    assert a.num_evaluations == b.num_evaluations


def test_seeds_agree_within_0002_mean_iou():
    boxes = mass_like_boxes(seed=4)
    means = [
        optimize_anchors(boxes, 3, 3, 'focal', True, seed=s,
                         maxiter=200).evaluation.mean_best_iou
        for s in (0, 1, 2)
    ]
    assert max(means) - min(means) <= 0.002


def test_restarts_keep_the_best():
    boxes = mass_like_boxes(seed=5)
    one = optimize_anchors(boxes, 3, 2, 'avg', True, seed=2, **SMALL)
    three = optimize_anchors(
        boxes, 3, 2, 'avg', True, seed=2, restarts=3, **SMALL)
    assert sum('differential evolution' in line for line in three.log) == 3
    assert three.evaluation.objective_value <= \
        one.evaluation.objective_value + 1e-4


def test_narrow_bounds_are_reported():
    # the peer tool's scale bounds (0.4-2 of 4 x stride = 1.6-8) cut off the
    # grid optimum of large boxes
    boxes = mass_like_boxes() * 2
    res = optimize_anchors(
        boxes, 3, 3, 'focal', True, scale_bounds=(1.6, 8), seed=0, **SMALL)
    assert any(hit.startswith('scale') for hit in res.at_bounds)
    assert any(line.startswith('warning') for line in res.log)


@pytest.mark.parametrize('boxes,match', [
    (np.zeros((0, 4)), 'non-empty'),
    (np.array([[10.0, 10.0, 5.0, 20.0]]), 'x2 > x1'),
    (np.array([[0.0, 0.0, np.nan, 20.0]]), 'not finite'),
])
def test_bad_boxes(boxes, match):
    with pytest.raises(ValueError, match=match):
        optimize_anchors(boxes, **SMALL)


def test_bad_objective():
    with pytest.raises(ValueError, match='not one of'):
        optimize_anchors(mass_like_boxes(), objective='ce', **SMALL)
