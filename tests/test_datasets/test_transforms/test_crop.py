"""MassPreservingRandomCrop and crop_positions."""
from unittest import mock

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms.utils import cache_random_params
from mmdet.structures.bbox import HorizontalBoxes
from scipy import stats

import mmdet_inbreast  # noqa: F401  (registration)
from mmdet_inbreast.datasets.transforms.crop import (MassPreservingRandomCrop,
                                                     crop_positions,
                                                     crop_span)


def _results(img, boxes, ignore=None, labels=None):
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    n = len(boxes)
    return dict(
        img=img,
        img_shape=img.shape[:2],
        scale_factor=(1.0, 1.0),
        gt_bboxes=HorizontalBoxes(torch.from_numpy(boxes)),
        gt_bboxes_labels=(np.zeros(n, np.int64) if labels is None else
                          np.asarray(labels, np.int64)),
        gt_ignore_flags=(np.zeros(n, bool) if ignore is None else
                         np.asarray(ignore, bool)))


def _force(t, origin, index=0):
    """Force the two random draws of ``t``; returns the patchers."""
    return (mock.patch.object(t, '_rand_origin', return_value=origin),
            mock.patch.object(t, '_rand_index', return_value=index))


def _boxes(results):
    return results['gt_bboxes'].numpy().astype(np.float64)


# ------------------------------------------------------------ crop_positions
def _brute_positions(box, crop, image):
    """All integer origins (x0, y0) holding ``box``, by enumeration."""
    out = []
    for c, size, lo_e, hi_e in ((crop[0], image[0], box[0], box[2]),
                                (crop[1], image[1], box[1], box[3])):
        inside = (range(0, size - c + 1) if size >= c else
                  range(size - c, 1))
        out.append([o for o in inside if o <= lo_e and o + c >= hi_e])
    return out


@pytest.mark.parametrize('box,crop,image', [
    ([100.25, 200.5, 300.75, 350.0], (512, 512), (1000, 900)),
    ([40.5, 30.25, 50.75, 45.5], (32, 32), (100, 80)),
    ([0.0, 0.0, 10.0, 10.0], (32, 16), (100, 80)),          # corner
    ([90.0, 70.0, 100.0, 80.0], (32, 16), (100, 80)),       # far corner
    ([10.25, 5.5, 30.75, 20.0], (64, 64), (50, 40)),        # image < crop
    ([10.5, 10.5, 110.2, 50.0], (100, 100), (400, 400)),    # span 100.2
    ([10.0, 10.0, 110.0, 50.0], (100, 100), (400, 400)),    # span 100
    ([20.0, 30.0, 300.0, 80.0], (100, 100), (400, 400)),    # too wide
])
def test_crop_positions_brute_force(box, crop, image):
    x_lo, x_hi, y_lo, y_hi = crop_positions(np.array(box), crop, image)
    xs, ys = _brute_positions(box, crop, image)
    assert list(range(x_lo, x_hi + 1)) == xs
    assert list(range(y_lo, y_hi + 1)) == ys
    span_w, span_h = crop_span(np.array(box))
    assert bool(xs) == (span_w <= crop[0])
    assert bool(ys) == (span_h <= crop[1])


def test_crop_positions_hand_numbers():
    # x: ceil(300.75 - 512) = -211 -> 0 .. floor(100.25) = 100;
    # y: ceil(350 - 512) = -162 -> 0 .. floor(200.5) = 200.
    assert crop_positions(np.array([100.25, 200.5, 300.75, 350.0]),
                          (512, 512), (1000, 900)) == (0, 100, 0, 200)
    # Image (50 x 40) smaller than the crop (64 x 64): the crop covers it,
    # origins in [W - cw, 0] = [-14, 0] and [-24, 0].
    assert crop_positions(np.array([10.25, 5.5, 30.75, 20.0]), (64, 64),
                          (50, 40)) == (-14, 0, -24, 0)
    assert crop_span(np.array([10.5, 10.5, 110.2, 50.0])) == \
        pytest.approx((100.2, 40.0))


# -------------------------------------------------------------- uniformity
@pytest.mark.slow
def test_origin_uniform_over_valid_positions():
    """20000 crops around one mass: x0 and y0 uniform over every valid
    position (chi-square), both extremes reached, mean in the middle."""
    img = np.ones((80, 100), np.uint16)
    box = [40.5, 30.25, 50.75, 45.5]
    t = MassPreservingRandomCrop(crop_size=(32, 32))
    # x0 in ceil(50.75 - 32) = 19 .. floor(40.5) = 40 (22 values);
    # y0 in ceil(45.5 - 32) = 14 .. floor(30.25) = 30 (17 values).
    np.random.seed(0)
    n = 20000
    xy = np.empty((n, 2), np.int64)
    for i in range(n):
        r = t(_results(img, box))
        xy[i] = r['crop_offset']
        if i < 200:  # the mass is whole and exact
            np.testing.assert_array_equal(
                _boxes(r), [np.subtract(box, xy[i].tolist() * 2)])
    for k, (lo, hi) in enumerate(((19, 40), (14, 30))):
        v = xy[:, k]
        assert v.min() == lo and v.max() == hi
        counts = np.bincount(v - lo, minlength=hi - lo + 1)
        assert len(counts) == hi - lo + 1 and counts.min() > 0
        assert stats.chisquare(counts).pvalue > 1e-3
        assert abs(v.mean() - (lo + hi) / 2) < 0.15
    # Joint: all 22 x 17 positions, uniform (x0 and y0 independent).
    joint = np.bincount((xy[:, 0] - 19) * 17 + (xy[:, 1] - 14),
                        minlength=22 * 17)
    assert joint.min() > 0
    assert stats.chisquare(joint).pvalue > 1e-3


def test_origin_uniform_detects_bias():
    """The chi-square test above does reject a corner-biased draw."""
    rng = np.random.default_rng(0)
    biased = np.minimum(rng.integers(19, 41, 20000),
                        rng.integers(19, 41, 20000))
    counts = np.bincount(biased - 19, minlength=22)
    assert stats.chisquare(counts).pvalue < 1e-6


def test_mass_picked_uniformly():
    """Three masses far apart: each picked a third of the time, and the
    picked one is whole and exact in the crop."""
    img = np.ones((100, 300), np.uint16)
    boxes = np.array([[10.5, 40.25, 30.75, 60.5], [140.25, 40.5, 160.5, 60.0],
                      [260.0, 30.0, 285.5, 70.25]])
    t = MassPreservingRandomCrop(crop_size=(48, 48))
    np.random.seed(1)
    picks = []
    for _ in range(3000):
        r = t(_results(img, boxes))
        x0, y0 = r['crop_offset']
        whole = [i for i, b in enumerate(boxes)
                 if b[0] >= x0 and b[2] <= x0 + 48 and b[1] >= y0
                 and b[3] <= y0 + 48]
        assert len(whole) == 1
        out = _boxes(r)
        assert len(out) == 1  # the others are out of the crop
        np.testing.assert_allclose(out[0], boxes[whole[0]] - [x0, y0] * 2,
                                   atol=1e-5)
        picks.append(whole[0])
    counts = np.bincount(picks, minlength=3)
    assert stats.chisquare(counts).pvalue > 1e-3


def test_mass_always_whole_random_images():
    rng = np.random.default_rng(3)
    t = MassPreservingRandomCrop(crop_size=(64, 48), cut_policy='drop')
    np.random.seed(3)
    for _ in range(300):
        w, h = rng.integers(40, 200, 2)
        n = rng.integers(1, 4)
        x1 = rng.uniform(0, w - 10, n)
        y1 = rng.uniform(0, h - 10, n)
        bw = rng.uniform(1, np.minimum(60, w - x1))
        bh = rng.uniform(1, np.minimum(44, h - y1))
        boxes = np.stack([x1, y1, x1 + bw, y1 + bh], 1).astype(np.float32)
        r = t(_results(np.ones((h, w), np.uint16), boxes))
        assert r['img'].shape == (48, 64)
        assert r['img_shape'] == (48, 64)
        assert r['crop_scale'] == (1.0, 1.0) and not r['crop_clipped']
        x0, y0 = r['crop_offset']
        inside = ((boxes[:, 0] >= x0) & (boxes[:, 2] <= x0 + 64)
                  & (boxes[:, 1] >= y0) & (boxes[:, 3] <= y0 + 48))
        assert inside.any()
        out = _boxes(r)
        for b in boxes[inside] - np.float32([x0, y0, x0, y0]):
            assert (np.abs(out - b).max(1) < 1e-4).any()
        # Crops stay inside an image larger than the crop.
        if w >= 64:
            assert 0 <= x0 <= w - 64
        if h >= 48:
            assert 0 <= y0 <= h - 48


# ----------------------------------------------------------- exact numbers
def test_exact_box_forced_origin():
    img = np.arange(1000 * 900, dtype=np.float32).reshape(900, 1000)
    t = MassPreservingRandomCrop(crop_size=(512, 384))
    po, pi = _force(t, (37, 101))
    with po as rand_origin, pi:
        r = t(_results(img, [[100.25, 200.5, 300.75, 350.0]], labels=[0]))
    # Drawn among x in [ceil(300.75 - 512) -> 0, floor(100.25) = 100],
    # y in [ceil(350 - 384) -> 0, floor(200.5) = 200].
    rand_origin.assert_called_once_with(0, 100, 0, 200)
    assert _boxes(r).tolist() == [[63.25, 99.5, 263.75, 249.0]]
    assert r['gt_bboxes'].tensor.dtype == torch.float32
    assert r['crop_offset'] == (37.0, 101.0)
    assert r['scale_factor'] == (1.0, 1.0)
    np.testing.assert_array_equal(r['img'], img[101:485, 37:549])
    assert r['img'].flags['C_CONTIGUOUS']


@pytest.mark.parametrize('policy', ['ignore', 'drop'])
def test_cut_boxes(policy):
    """Forced origin (50, 50), crop 100 x 100 on a 200 x 200 image."""
    img = np.ones((200, 200), np.uint16)
    boxes = [
        [60, 60, 100, 100],    # 0 picked: [10, 10, 50, 50]
        [130, 60, 170, 100],   # 1 half inside (0.5): [80, 10, 100, 50]
        [140, 110, 180, 130],  # 2 quarter inside: [90, 60, 100, 80]
        [10, 10, 40, 40],      # 3 outside: always dropped
        [40, 120, 60, 140],    # 4 half inside: [0, 70, 10, 90]
        [70, 120, 90, 140],    # 5 ignored before, whole: [20, 70, 40, 90]
        [45, 45, 55, 155],     # 6 500 / 1100 visible: [0, 0, 5, 100]
    ]
    ignore = [0, 0, 0, 0, 0, 1, 0]
    t = MassPreservingRandomCrop(crop_size=(100, 100), min_visible=0.5,
                                 cut_policy=policy)
    po, pi = _force(t, (50, 50), index=0)
    with po, pi:
        r = t(_results(img, boxes, ignore=ignore, labels=range(7)))
    kept = {
        0: ([10, 10, 50, 50], False),
        1: ([80, 10, 100, 50], False),
        2: ([90, 60, 100, 80], True),
        4: ([0, 70, 10, 90], False),
        5: ([20, 70, 40, 90], True),
        6: ([0, 0, 5, 100], True),
    }
    if policy == 'drop':
        kept = {k: v for k, v in kept.items() if k not in (2, 6)}
    assert r['gt_bboxes_labels'].tolist() == list(kept)
    assert _boxes(r).tolist() == [v[0] for v in kept.values()]
    assert r['gt_ignore_flags'].tolist() == [v[1] for v in kept.values()]
    assert r['gt_ignore_flags'].dtype == bool


def test_min_visible_threshold():
    img = np.ones((200, 200), np.uint16)
    boxes = [[60, 60, 100, 100], [140, 60, 180, 100]]  # second 0.25 inside
    for min_visible, flag in ((0.25, False), (0.26, True)):
        t = MassPreservingRandomCrop(crop_size=(100, 100),
                                     min_visible=min_visible)
        po, pi = _force(t, (50, 50))
        with po, pi:
            r = t(_results(img, boxes))
        assert r['gt_ignore_flags'].tolist() == [False, flag]
        assert _boxes(r)[1].tolist() == [90, 10, 100, 50]


# -------------------------------------------------------------- large mass
def test_shrink_exact():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 16384, (400, 400)).astype(np.uint16)
    box = [50.5, 60.25, 230.5, 200.75]
    t = MassPreservingRandomCrop(crop_size=(100, 100), large_mass='shrink',
                                 margin=0.9)
    # span (230.5 - 50, 200.75 - 60) = (180.5, 140.75); f = 1.805 / 0.9;
    # window ceil(100 f) = 201 px; origins x in [ceil(230.5 - 201) = 30,
    # 50], y in [ceil(200.75 - 201) = 0, 60].
    po, pi = _force(t, (40, 30))
    with po as rand_origin, pi:
        r = t(_results(img, [box]))
    rand_origin.assert_called_once_with(30, 50, 0, 60)
    s = 100 / 201
    assert r['scale_factor'] == pytest.approx((s, s), rel=1e-12)
    assert r['crop_scale'] == pytest.approx((s, s), rel=1e-12)
    assert not r['crop_clipped']
    expected = [(50.5 - 40) * s, (60.25 - 30) * s, (230.5 - 40) * s,
                (200.75 - 30) * s]
    np.testing.assert_allclose(_boxes(r)[0], expected, rtol=0, atol=1e-4)
    assert r['img'].shape == (100, 100) and r['img'].dtype == np.uint16
    np.testing.assert_array_equal(
        r['img'], cv2.resize(img[30:231, 40:241], (100, 100),
                             interpolation=cv2.INTER_AREA))
    assert r['gt_ignore_flags'].tolist() == [False]


def test_shrink_non_square_crop_scales_each_axis():
    """Crop 100 x 60: window 278 x 167 (ceil of 2.78 times the crop); the
    two axes scale by 100/278 and 60/167, and the boxes follow the image."""
    img = np.zeros((400, 400), np.float32)
    img[50:200, 50:200] = 1.0  # the mass region, whole pixels
    box = [50.0, 50.0, 200.0, 200.0]
    t = MassPreservingRandomCrop(crop_size=(100, 60))
    po, pi = _force(t, (44, 48))
    with po, pi:
        r = t(_results(img, [box]))
    sx, sy = 100 / 278, 60 / 167
    assert r['scale_factor'] == pytest.approx((sx, sy), rel=1e-12)
    np.testing.assert_allclose(
        _boxes(r)[0], [6 * sx, 2 * sy, 156 * sx, 152 * sy], atol=1e-4)
    # The bright area of the shrunk patch matches the box (INTER_AREA
    # averages: the sum of the patch is the area the box covers).
    assert r['img'].shape == (60, 100)
    b = _boxes(r)[0]
    assert r['img'].sum() == pytest.approx((b[2] - b[0]) * (b[3] - b[1]),
                                           rel=1e-4)


def test_shrink_keeps_channel_axis():
    img = np.ones((400, 400, 1), np.uint16)
    t = MassPreservingRandomCrop(crop_size=(100, 100))
    np.random.seed(0)
    r = t(_results(img, [[10.0, 10.0, 300.0, 50.0]]))
    assert r['img'].shape == (100, 100, 1)


def test_fractional_box_that_needs_one_more_pixel():
    """Width 99.7 at x1 = 10.5 needs a 101 px crop: with crop 100 it does
    not fit ('skip' returns None, 'shrink' shrinks), never clipped."""
    img = np.ones((400, 400), np.uint16)
    box = [[10.5, 10.5, 110.2, 50.0]]
    assert MassPreservingRandomCrop(
        crop_size=(100, 100), large_mass='skip')(_results(img, box)) is None
    np.random.seed(0)
    r = MassPreservingRandomCrop(crop_size=(100, 100))(_results(img, box))
    assert not r['crop_clipped'] and r['crop_scale'][0] < 1
    s = r['crop_scale'][0]
    x0, y0 = r['crop_offset']
    np.testing.assert_allclose(_boxes(r)[0],
                               (np.array(box[0]) - [x0, y0, x0, y0]) * s,
                               atol=1e-4)
    # With a 101 px crop it fits as is.
    np.random.seed(0)
    r = MassPreservingRandomCrop(crop_size=(101, 101),
                                 large_mass='skip')(_results(img, box))
    assert r['crop_offset'][0] == 10.0
    assert _boxes(r)[0][2] == pytest.approx(100.2, abs=1e-4)


def test_skip():
    img = np.ones((400, 400), np.uint16)
    large, small = [20, 20, 300, 100], [250.5, 250.5, 280.5, 290.5]
    t = MassPreservingRandomCrop(crop_size=(100, 100), large_mass='skip')
    assert t(_results(img, [large])) is None
    np.random.seed(0)
    for _ in range(50):
        r = t(_results(img, [large, small]))
        x0, y0 = r['crop_offset']
        assert x0 <= 250.5 and x0 + 100 >= 280.5
        assert y0 <= 250.5 and y0 + 100 >= 290.5
        assert not r['crop_clipped'] and r['crop_scale'] == (1.0, 1.0)
        assert [250.5 - x0, 250.5 - y0, 280.5 - x0, 290.5 - y0] in \
            _boxes(r).tolist()


def test_skip_inside_compose_returns_none():
    from mmengine.dataset import Compose
    img = np.ones((400, 400), np.uint16)
    pipeline = Compose([MassPreservingRandomCrop(crop_size=(100, 100),
                                                 large_mass='skip')])
    assert pipeline(_results(img, [[20, 20, 300, 100]])) is None


def test_clip():
    img = np.ones((400, 400), np.uint16)
    box = [20.0, 30.0, 300.0, 80.0]  # 280 wide: x origins inside the box
    t = MassPreservingRandomCrop(crop_size=(100, 100), large_mass='clip',
                                 min_visible=0.5)
    po, pi = _force(t, (120, 10))
    with po as rand_origin, pi:
        r = t(_results(img, [box]))
    # x: inside the box, [ceil(20), floor(300 - 100)] = [20, 200];
    # y: holds the box, [ceil(80 - 100) -> 0, floor(30)] = [0, 30].
    rand_origin.assert_called_once_with(20, 200, 0, 30)
    assert r['crop_clipped'] is True
    assert r['crop_scale'] == (1.0, 1.0)
    # Visible 100/280 < min_visible, still a positive: the picked mass.
    assert _boxes(r).tolist() == [[0, 20, 100, 70]]
    assert r['gt_ignore_flags'].tolist() == [False]
    # Real draws stay in range and the box is always clipped to the crop.
    np.random.seed(0)
    for _ in range(100):
        r = t(_results(img, [box]))
        x0, y0 = r['crop_offset']
        assert 20 <= x0 <= 200 and 0 <= y0 <= 30
        assert _boxes(r).tolist() == [[0, 30 - y0, 100, 80 - y0]]


# --------------------------------------------------------------- negatives
def test_negative_lands_on_tissue():
    """Half of the image is black background: every crop of a negative has
    at least min_tissue non-zero pixels, and the draws cover all the
    positions that do (x0 up to 160: (256 - 160) / 128 = 0.75)."""
    img = np.zeros((256, 512), np.uint16)
    img[:, :256] = 1000
    t = MassPreservingRandomCrop(crop_size=(128, 128), min_tissue=0.7,
                                 tissue_stride=16)
    np.random.seed(0)
    xs, ys = set(), set()
    for _ in range(400):
        r = t(_results(img, np.zeros((0, 4))))
        assert r['img'].shape == (128, 128)
        assert (r['img'] > 0).mean() >= 0.7
        assert len(r['gt_bboxes']) == 0
        xs.add(r['crop_offset'][0])
        ys.add(r['crop_offset'][1])
    assert xs == set(range(0, 161, 16))
    assert ys == set(range(0, 129, 16))
    # Tissue on the right: the crops follow it.
    np.random.seed(0)
    for _ in range(50):
        r = t(_results(img[:, ::-1].copy(), np.zeros((0, 4))))
        assert (r['img'] > 0).mean() >= 0.7


def test_negative_with_ignored_boxes_only():
    img = np.zeros((256, 512), np.uint16)
    img[:, :256] = 1000
    t = MassPreservingRandomCrop(crop_size=(128, 128))
    np.random.seed(0)
    r = t(_results(img, [[10, 10, 30, 30]], ignore=[True]))
    assert (r['img'] > 0).mean() >= 0.7
    assert r['gt_ignore_flags'].all()


def test_negative_without_enough_tissue_takes_the_richest():
    img = np.zeros((256, 512), np.uint16)
    img[100:140, 300:340] = 1000  # a 40 x 40 blob: never 70 % of a crop
    t = MassPreservingRandomCrop(crop_size=(128, 128), tissue_stride=4)
    np.random.seed(0)
    r = t(_results(img, np.zeros((0, 4))))
    assert (r['img'] > 0).sum() == 40 * 40
    # All background: any crop, no error.
    r = t(_results(np.zeros((256, 512), np.uint16), np.zeros((0, 4))))
    assert r['img'].shape == (128, 128)


# ----------------------------------------------------------------- padding
def test_image_smaller_than_crop_is_padded():
    img = np.arange(1, 40 * 50 + 1, dtype=np.uint16).reshape(40, 50)
    t = MassPreservingRandomCrop(crop_size=(64, 64), pad_val=7)
    po, pi = _force(t, (-7, -11))
    with po as rand_origin, pi:
        r = t(_results(img, [[10.25, 5.5, 30.75, 20.0]]))
    rand_origin.assert_called_once_with(-14, 0, -24, 0)
    out = r['img']
    assert out.shape == (64, 64) and out.dtype == np.uint16
    np.testing.assert_array_equal(out[11:51, 7:57], img)
    pad = np.ones((64, 64), bool)
    pad[11:51, 7:57] = False
    assert (out[pad] == 7).all()
    assert _boxes(r).tolist() == [[17.25, 16.5, 37.75, 31.0]]
    # Real draws: the image always lands whole inside the crop.
    np.random.seed(0)
    for _ in range(50):
        r = t(_results(img, [[10.25, 5.5, 30.75, 20.0]]))
        x0, y0 = (-int(v) for v in r['crop_offset'])
        np.testing.assert_array_equal(r['img'][y0:y0 + 40, x0:x0 + 50], img)
    # A negative this small is centred: origin ((50 - 64) // 2, (40 - 64) //
    # 2) = (-7, -12).
    r = t(_results(img, np.zeros((0, 4))))
    assert r['crop_offset'] == (-7.0, -12.0)
    np.testing.assert_array_equal(r['img'][12:52, 7:57], img)


def test_pad_default_is_background_zero():
    img = np.full((40, 200), 5, np.uint16)
    t = MassPreservingRandomCrop(crop_size=(64, 64))
    np.random.seed(0)
    r = t(_results(img, [[100, 10, 120, 30]]))
    y0 = -int(r['crop_offset'][1])
    assert (r['img'][:y0] == 0).all() and (r['img'][y0 + 40:] == 0).all()
    assert (r['img'][y0:y0 + 40] == 5).all()


# ---------------------------------------------------------------- plumbing
def test_cache_random_params_repeats_the_draw():
    img = np.ones((200, 300), np.uint16)
    t = MassPreservingRandomCrop(crop_size=(64, 64))
    np.random.seed(0)
    with cache_random_params(t):
        offsets = {t(_results(img, [[100, 100, 120, 120]]))['crop_offset']
                   for _ in range(10)}
    assert len(offsets) == 1
    offsets = {t(_results(img, [[100, 100, 120, 120]]))['crop_offset']
               for _ in range(10)}
    assert len(offsets) > 1


@pytest.mark.parametrize('kwargs', [
    dict(crop_size=(0, 10)), dict(crop_size=(10, )),
    dict(cut_policy='keep'), dict(large_mass='resize'), dict(margin=0),
    dict(margin=1.5)
])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        MassPreservingRandomCrop(**kwargs)


def test_repr():
    t = MassPreservingRandomCrop(crop_size=(160, 128), min_visible=0.4,
                                 cut_policy='drop', large_mass='clip',
                                 margin=0.8, min_tissue=0.6, tissue_stride=4,
                                 pad_val=3)
    assert repr(t) == (
        "MassPreservingRandomCrop(crop_size=(160, 128), min_visible=0.4, "
        "cut_policy='drop', large_mass='clip', margin=0.8, min_tissue=0.6, "
        'tissue_stride=4, pad_val=3)')


def test_compose_with_mmdet_transforms(synthetic_release):
    """LoadDicomImage + LoadAnnotations + crop + PackDetInputs on every
    image of the synthetic release."""
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope

    from mmdet_inbreast.datasets import INbreastDataset
    root, images = synthetic_release
    meta_keys = ('img_id', 'img_shape', 'ori_shape', 'scale_factor',
                 'crop_offset', 'crop_scale', 'crop_clipped')
    with DefaultScope.overwrite_default_scope('mmdet'):
        pipeline = Compose([
            dict(type='LoadDicomImage'),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(type='MassPreservingRandomCrop', crop_size=(96, 64),
                 tissue_stride=4),
            dict(type='PackDetInputs', meta_keys=meta_keys),
        ])
    ds = INbreastDataset(data_root=root, pipeline=[], serialize_data=False)
    truth = {im.file_name: np.array(im.mass_boxes).reshape(-1, 4)
             for im in images}
    np.random.seed(0)
    n_pos = 0
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        out = pipeline(info)
        assert out['inputs'].shape == (1, 64, 96)
        assert out['inputs'].dtype == torch.uint16
        sample = out['data_samples']
        assert sample.img_shape == (64, 96)
        x0, y0 = sample.crop_offset
        gt = sample.gt_instances.bboxes.numpy()
        assert ((gt[:, 0::2] >= 0) & (gt[:, 0::2] <= 96)).all()
        assert ((gt[:, 1::2] >= 0) & (gt[:, 1::2] <= 64)).all()
        masses = truth[info['file_name']]
        if len(masses):
            n_pos += 1
            # One mass (3-decimal XML coordinates) whole and exact.
            shifted = np.array([b['bbox'] for b in info['instances']],
                               np.float32) - np.float32([x0, y0, x0, y0])
            assert any((np.abs(gt - b).max(1) < 1e-4).any()
                       for b in shifted if b.min() >= 0 and b[2] <= 96
                       and b[3] <= 64)
            np.testing.assert_allclose(
                [b['bbox'] for b in info['instances']], masses, atol=1e-3)
        else:
            assert len(gt) == 0
            assert (out['inputs'].numpy() > 0).mean() >= 0.7 - 4 / 64
    assert 0 < n_pos < len(ds)
