"""Objectives and the ratio/scale search space."""
import math

import numpy as np
import pytest

from mmdet_inbreast.anchors.objective import AnchorSpace, objective_value

IOU = np.array([0.9, 0.5, 0.45, 0.7])


@pytest.mark.parametrize(
    'objective,want',
    [
        ('avg', 1 - (0.9 + 0.5 + 0.45 + 0.7) / 4),
        # one box (0.45) below 0.5, plus 1 - mean IoU as tie-break
        ('unmatched', 1 + 1 - (0.9 + 0.5 + 0.45 + 0.7) / 4),
        ('focal', np.mean([-(1 - x)**2 * math.log(x) for x in IOU])),
    ])
def test_objective_values(objective, want):
    assert objective_value(IOU, objective) == pytest.approx(want, abs=1e-12)


def test_focal_at_the_threshold_and_at_zero():
    # -(0.5)^2 ln 0.5 = 0.25 ln 2
    assert objective_value([0.5], 'focal') == pytest.approx(0.25 * math.log(2))
    assert objective_value([1.0], 'focal') == 0.0
    assert np.isfinite(objective_value([0.0], 'focal'))  # clipped, not inf


def test_unmatched_count_beats_mean():
    # 0 unmatched with a poor mean beats 1 unmatched with a great mean
    few = objective_value([0.51, 0.51, 0.51], 'unmatched')
    one = objective_value([0.49, 0.99, 0.99], 'unmatched')
    assert few < one
    assert objective_value([0.4, 0.6], 'unmatched', pos_iou_thr=0.35) < 1


def test_objective_batched_and_unknown():
    batched = objective_value(np.stack([IOU, IOU[::-1]]), 'avg')
    assert batched.shape == (2, )
    with pytest.raises(ValueError, match="'ce' is not one of"):
        objective_value(IOU, 'ce')


@pytest.mark.parametrize('num_ratios,symmetric,params,want_ratios', [
    (3, True, [1.0], [0.5, 1.0, 2.0]),
    (1, True, [], [1.0]),
    (5, True, [0.5, 1.0], [0.5, 2**-0.5, 1.0, 2**0.5, 2.0]),
    (2, True, [1.0], [0.5, 2.0]),
    (2, False, [-1.0, 0.5], [0.5, 2**0.5]),
])
def test_decode_ratios(num_ratios, symmetric, params, want_ratios):
    space = AnchorSpace(num_ratios, 2, (1, 4), (1, 64), symmetric)
    assert space.num_ratio_params == len(params)
    x = np.array(params + [3.0, 2.0])  # scales 8, 4 -> sorted 4, 8
    ratios, scales = space.decode(x)
    np.testing.assert_allclose(ratios, want_ratios, rtol=1e-12)
    np.testing.assert_allclose(scales, [4.0, 8.0], rtol=1e-12)
    assert len(space.bounds) == len(x)


def test_decode_batched_layout():
    space = AnchorSpace(3, 2, (1, 4), (1, 64))
    x = np.array([[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]])  # (D, P) = (3, 2)
    ratios, scales = space.decode(x)
    np.testing.assert_allclose(ratios, [[1, 1, 1], [0.5, 1, 2]])
    np.testing.assert_allclose(scales, [[2, 4], [4, 8]])


def test_bounds_in_log2():
    space = AnchorSpace(3, 3, (1, 4), (1, 64))
    assert space.bounds == [(0.0, 2.0)] + [(0.0, 6.0)] * 3
    free = AnchorSpace(2, 1, (1, 4), (0.5, 8), symmetric_ratios=False)
    assert free.bounds == [(-2.0, 2.0)] * 2 + [(-1.0, 3.0)]


def test_at_bounds():
    space = AnchorSpace(3, 2, (1, 4), (1, 64))
    # r = 1 is no cut-off for a symmetric pair; scale 64 is
    assert space.at_bounds(np.array([0.0, 3.0, 6.0])) == ['scale 1 = 64']
    assert space.at_bounds(np.array([2.0, 3.0, 4.0])) == ['ratio 0 = 4']


@pytest.mark.parametrize('kwargs,match', [
    (dict(num_ratios=0), 'at least 1 ratio'),
    (dict(ratio_bounds=(0.5, 4)), r'1 <= lo < hi'),
    (dict(scale_bounds=(0, 8)), r'0 < lo < hi'),
])
def test_space_errors(kwargs, match):
    args = dict(
        num_ratios=3, num_scales=3, ratio_bounds=(1, 4), scale_bounds=(1, 64))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        AnchorSpace(**args)
