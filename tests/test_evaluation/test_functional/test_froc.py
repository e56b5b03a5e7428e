"""Tests of the pure numpy FROC: hand-made cases and checks against the
plain-Python reference (:mod:`mmdet_inbreast.testing`)."""
import math

import numpy as np
import pytest

from mmdet_inbreast.evaluation.functional import (
    DEFAULT_FPI, FROCMatches, bootstrap_cpm, bootstrap_cpm_from_counts,
    center_in_boxes, froc_curve, match_images, match_predictions,
    sensitivity_at)
from mmdet_inbreast.testing import froc_reference, froc_reference_points

# Random images as per-image lists: preds (score, box, label), gts (box,
# label, ignore). The oracle is mmdet_inbreast.testing.froc_reference
# (plain-Python loops, float64, no mmdet call).


def to_arrays(images):
    """Per-image lists as match_images' (and the reference's) arguments."""
    out = dict(
        pred_bboxes=[], pred_scores=[], pred_labels=[], gt_bboxes=[],
        gt_labels=[], gt_ignore_flags=[])
    for preds, gts in images:
        out['pred_bboxes'].append(
            np.array([p[1] for p in preds], dtype=float).reshape(-1, 4))
        out['pred_scores'].append(np.array([p[0] for p in preds], float))
        out['pred_labels'].append(np.array([p[2] for p in preds], int))
        out['gt_bboxes'].append(
            np.array([g[0] for g in gts], dtype=float).reshape(-1, 4))
        out['gt_labels'].append(np.array([g[1] for g in gts], int))
        out['gt_ignore_flags'].append(np.array([g[2] for g in gts], bool))
    return out


def random_images(seed, num_images=12, num_classes=1, ties=False):
    """Random images: 0-3 boxes, predictions near boxes and elsewhere."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(num_images):
        gts = []
        for _ in range(rng.integers(0, 4)):
            x, y = rng.uniform(0, 200, 2)
            w, h = rng.uniform(10, 60, 2)
            gts.append(([x, y, x + w, y + h], int(rng.integers(num_classes)),
                        bool(rng.random() < 0.2)))
        preds = []
        for _ in range(rng.integers(0, 12)):
            if gts and rng.random() < 0.6:
                g = gts[rng.integers(len(gts))][0]
                box = list(np.asarray(g) + rng.normal(0, 6, 4))
                box[2], box[3] = max(box[2], box[0]), max(box[3], box[1])
            else:
                x, y = rng.uniform(0, 200, 2)
                w, h = rng.uniform(10, 60, 2)
                box = [x, y, x + w, y + h]
            score = rng.random()
            if ties:
                score = round(score, 1)
            preds.append((float(score), [float(v) for v in box],
                          int(rng.integers(num_classes))))
        images.append((preds, gts))
    return images


# --------------------------------------------------------------------------
# IoU and centre hits
# --------------------------------------------------------------------------


def test_iou_is_mmdets_no_plus_one():
    # Two 10x10 boxes sharing half their width: IoU 50 / 150, not 55 / 165
    # (legacy +1). The prediction hits at iou_thr 1/3 and misses just above.
    gt = np.array([[0, 0, 10, 10]], dtype=float)
    pred = np.array([[5, 0, 15, 10]], dtype=float)
    assert match_predictions(pred, [0.9], gt, iou_thr=0.333)[0].tolist() == [
        True]
    assert match_predictions(pred, [0.9], gt, iou_thr=0.334)[0].tolist() == [
        False]
    # A degenerate prediction (zero area) hits nothing and is an FP, not NaN.
    tp, fp = match_predictions(np.array([[5, 5, 5, 5]], float), [0.9], gt,
                               iou_thr=0.01)
    assert tp.tolist() == [False] and fp.tolist() == [True]


def test_center_in_boxes_borders_included():
    gt = np.array([[10, 10, 20, 20]])
    preds = np.array([
        [0, 0, 30, 30],  # centre (15, 15): inside
        [10, 10, 30, 30],  # centre (20, 20): on the corner, inside
        [12, 12, 30.2, 14],  # centre (21.1, 13): right of the box
        [0, 0, 4, 4],  # centre (2, 2): outside
    ])
    assert center_in_boxes(preds, gt)[:, 0].tolist() == [
        True, True, False, False
    ]


# --------------------------------------------------------------------------
# Matching rules, hand-made
# --------------------------------------------------------------------------
GT = np.array([[0, 0, 10, 10]], dtype=float)


@pytest.mark.parametrize('duplicates, fp', [('ignore', [False, False, True]),
                                            ('fp', [False, True, True])])
def test_duplicates(duplicates, fp):
    preds = np.array([[0, 0, 10, 10], [1, 0, 10, 10], [50, 50, 60, 60]])
    tp, got_fp = match_predictions(
        preds, [0.9, 0.8, 0.7], GT, duplicates=duplicates)
    assert tp.tolist() == [True, False, False]
    assert got_fp.tolist() == fp


def test_greedy_in_score_order_not_best_iou():
    # The first prediction (IoU 0.64) takes the box; the better-placed but
    # lower-scored one (IoU 1) is the duplicate. Input order is not score
    # order.
    preds = np.array([[0, 0, 10, 10], [0, 0, 8, 8]])
    tp, fp = match_predictions(preds, [0.5, 0.9], GT, duplicates='fp')
    assert tp.tolist() == [False, True]
    assert fp.tolist() == [True, False]


def test_finds_the_hit_box_with_highest_iou():
    gts = np.array([[0, 0, 10, 10], [2, 0, 12, 10]], dtype=float)
    # IoU with box 0: 80/120 = 0.67; with box 1: 100/100 = 1.
    preds = np.array([[2, 0, 12, 10], [0, 0, 10, 10]], dtype=float)
    tp, fp = match_predictions(preds, [0.9, 0.8], gts)
    assert tp.tolist() == [True, True]  # the second finds box 0
    # Had the first taken box 0, the second would be a duplicate.
    tp, fp = match_predictions(preds[:1], [0.9], gts[1:])
    assert tp.tolist() == [True]


def test_ignore_flag_boxes():
    gts = np.array([[0, 0, 10, 10], [100, 100, 120, 120]], dtype=float)
    ignore = np.array([False, True])
    preds = np.array([
        [100, 100, 120, 120],  # on the ignored box: neither
        [200, 200, 210, 210],  # nowhere: FP
        [0, 0, 10, 10],  # the real box: TP
        [101, 100, 120, 120],  # ignored box again: neither
    ], dtype=float)
    tp, fp = match_predictions(preds, [0.9, 0.8, 0.7, 0.6], gts, ignore)
    assert tp.tolist() == [False, False, True, False]
    assert fp.tolist() == [False, True, False, False]
    m = match_images([preds], [[0.9, 0.8, 0.7, 0.6]], [gts],
                     gt_ignore_flags=[ignore])
    assert m.num_gts.tolist() == [1]  # ignored boxes are not counted


def test_new_box_beats_ignored_box():
    # One prediction hits an ignored box and a real one: a true positive.
    gts = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], dtype=float)
    tp, fp = match_predictions(
        np.array([[0, 0, 10, 10]]), [0.5], gts, np.array([True, False]))
    assert tp.tolist() == [True]


def test_duplicate_rule_before_ignored_rule():
    # Second prediction hits the found box and an ignored one: duplicate.
    gts = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], dtype=float)
    preds = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], dtype=float)
    tp, fp = match_predictions(
        preds, [0.9, 0.8], gts, np.array([False, True]), duplicates='fp')
    assert tp.tolist() == [True, False]
    assert fp.tolist() == [False, True]


@pytest.mark.parametrize('hit, tp', [('center', True), ('iou', False)])
def test_center_hit(hit, tp):
    # A small box whose centre (5, 5) lies inside a 100x100 box: IoU 0.01.
    gts = np.array([[0, 0, 100, 100]], dtype=float)
    got_tp, got_fp = match_predictions(
        np.array([[0, 0, 10, 10]]), [0.5], gts, hit=hit)
    assert got_tp.tolist() == [tp]
    assert got_fp.tolist() == [not tp]


def test_center_hit_prefers_highest_iou():
    # The centre (15, 15) lies in both boxes; IoU is higher with box 1.
    gts = np.array([[0, 0, 100, 100], [10, 10, 20, 20]], dtype=float)
    preds = np.array([[10, 10, 20, 20], [14, 14, 16, 16]], dtype=float)
    tp, fp = match_predictions(preds, [0.9, 0.8], gts, hit='center')
    assert tp.tolist() == [True, True]  # second then finds the big box


def test_ties_keep_input_order():
    preds = np.array([[0, 0, 9, 10], [0, 0, 10, 10]], dtype=float)
    tp, fp = match_predictions(preds, [0.5, 0.5], GT, duplicates='fp')
    assert tp.tolist() == [True, False]


def test_image_without_gt_all_false_positives():
    m = match_images([np.array([[0, 0, 10, 10], [5, 5, 9, 9]])],
                     [np.array([0.3, 0.2])], [np.zeros((0, 4))])
    assert m.tp.tolist() == [False, False]
    assert m.fp.tolist() == [True, True]


def test_classes_match_only_their_own_boxes():
    m = match_images(
        [np.array([[0, 0, 10, 10], [0, 0, 10, 10]])], [np.array([0.9, 0.8])],
        [GT],
        pred_labels=[np.array([1, 0])],
        gt_labels=[np.array([0])])
    assert m.tp.tolist() == [False, True]
    assert m.fp.tolist() == [True, False]


# --------------------------------------------------------------------------
# The curve and the points, hand-made
# --------------------------------------------------------------------------


def four_images():
    """Four images, four boxes; answers worked out by hand below."""
    b = lambda x: [x, 0, x + 10, 10]  # noqa: E731
    far = [500, 500, 510, 510]
    return [
        # image 0: boxes A, B; 0.9 finds A, 0.8 is an FP, 0.6 finds B
        ([(0.9, b(0), 0), (0.8, far, 0), (0.6, b(100), 0)],
         [(b(0), 0, False), (b(100), 0, False)]),
        # image 1: box C; 0.95 is an FP, 0.7 finds C
        ([(0.95, far, 0), (0.7, b(0), 0)], [(b(0), 0, False)]),
        # image 2: no box; two FPs
        ([(0.85, far, 0), (0.5, far, 0)], []),
        # image 3: box D never found, no prediction
        ([], [(b(0), 0, False)]),
    ]


def test_curve_hand_made():
    # Scores 0.95 .9 .85 .8 .7 .6 .5 -> FP, TP, FP, FP, TP, TP, FP.
    m = match_images(**to_arrays(four_images()))
    curve = froc_curve(m)
    assert curve.num_images == 4 and curve.num_boxes == 4
    np.testing.assert_array_equal(curve.thresholds,
                                  [0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5])
    np.testing.assert_allclose(curve.fps_per_image,
                               [.25, .25, .5, .75, .75, .75, 1.])
    np.testing.assert_allclose(curve.sensitivity,
                               [0, .25, .25, .25, .5, .75, .75])
    sens = sensitivity_at(curve)
    # 1/8: no threshold has FP/image <= 1/8 -> 0.
    np.testing.assert_allclose(sens, [0, .25, .25, .75, .75, .75, .75])
    assert sens.mean() == pytest.approx(0.5)


def test_sens_at_is_zero_when_no_threshold_is_under_f():
    # Best-scored prediction is an FP in the only image: FP/image starts at 1.
    m = match_images([np.array([[50, 50, 60, 60], [0, 0, 10, 10]])],
                     [np.array([0.9, 0.1])], [GT])
    sens = sensitivity_at(froc_curve(m), (0.5, 0.99, 1, 2))
    np.testing.assert_array_equal(sens, [0, 0, 1, 1])


def test_tied_scores_form_one_threshold():
    # Two images, same score: one TP and one FP enter together.
    m = match_images([np.array([[0, 0, 10, 10]]),
                      np.array([[50, 50, 60, 60]])],
                     [np.array([0.5]), np.array([0.5])], [GT, GT])
    curve = froc_curve(m)
    np.testing.assert_array_equal(curve.thresholds, [0.5])
    np.testing.assert_allclose(curve.fps_per_image, [0.5])
    np.testing.assert_allclose(curve.sensitivity, [0.5])
    # At f = 0.25 the tied FP cannot be left out: 0.
    np.testing.assert_allclose(sensitivity_at(curve, (0.25, 0.5)), [0, .5])


def test_no_predictions_and_no_boxes():
    m = match_images([np.zeros((0, 4))], [np.zeros(0)], [GT])
    assert sensitivity_at(froc_curve(m)).tolist() == [0.0] * 7
    m = match_images([np.array([[0, 0, 1, 1]])], [np.array([0.5])],
                     [np.zeros((0, 4))])
    assert np.isnan(sensitivity_at(froc_curve(m))).all()


# --------------------------------------------------------------------------
# Random cases against the plain-Python reference
# --------------------------------------------------------------------------


@pytest.mark.parametrize('seed', range(6))
@pytest.mark.parametrize('hit', ['iou', 'center'])
@pytest.mark.parametrize('duplicates', ['ignore', 'fp'])
def test_random_vs_reference(seed, hit, duplicates):
    images = random_images(
        seed, num_images=10 + seed, num_classes=1 + seed % 2, ties=seed >= 4)
    iou_thr = (0.5, 0.3, 0.1)[seed % 3]
    arrays = to_arrays(images)
    points, _ = froc_reference_points(
        arrays['pred_bboxes'], arrays['pred_scores'], arrays['gt_bboxes'],
        arrays['gt_ignore_flags'], arrays['pred_labels'], arrays['gt_labels'],
        iou_thr, hit, duplicates)
    sens_bf = froc_reference(
        arrays['pred_bboxes'], arrays['pred_scores'], arrays['gt_bboxes'],
        arrays['gt_ignore_flags'], iou_thr, hit, duplicates,
        pred_labels=arrays['pred_labels'], gt_labels=arrays['gt_labels'])
    m = match_images(
        **to_arrays(images), iou_thr=iou_thr, hit=hit, duplicates=duplicates)
    curve = froc_curve(m)
    np.testing.assert_allclose(curve.thresholds, [p[0] for p in points],
                               rtol=0, atol=1e-9)
    np.testing.assert_allclose(curve.fps_per_image, [p[1] for p in points],
                               rtol=0, atol=1e-9)
    np.testing.assert_allclose(curve.sensitivity, [p[2] for p in points],
                               rtol=0, atol=1e-9)
    np.testing.assert_allclose(sensitivity_at(curve), sens_bf, rtol=0,
                               atol=1e-9)
    # Not a trivial case: something is found and something is missed.
    assert 0 < points[-1][2] <= 1 and any(p[1] > 0 for p in points)


@pytest.mark.parametrize('seed', range(3))
def test_reference_sens_at_agrees(seed):
    images = random_images(seed, num_images=15)
    arrays = to_arrays(images)
    for hit in ('iou', 'center'):
        m = match_images(**arrays, hit=hit)
        ref = froc_reference(arrays['pred_bboxes'], arrays['pred_scores'],
                             arrays['gt_bboxes'], arrays['gt_ignore_flags'],
                             hit=hit)
        np.testing.assert_allclose(sensitivity_at(froc_curve(m)), ref,
                                   rtol=0, atol=1e-9)


def test_large_case_completes():
    """2000 images x 300 predictions (no timing assert; see
    tools/analysis_tools/benchmark_froc.py for the time)."""
    rng = np.random.default_rng(0)
    pred_bboxes, pred_scores, gt_bboxes = [], [], []
    for _ in range(2000):
        xy = rng.uniform(0, 3000, (300, 2))
        wh = rng.uniform(20, 300, (300, 2))
        pred_bboxes.append(np.hstack([xy, xy + wh]))
        pred_scores.append(rng.random(300))
        g = rng.integers(0, 4)
        xy = rng.uniform(0, 3000, (g, 2))
        gt_bboxes.append(np.hstack([xy, xy + rng.uniform(20, 300, (g, 2))]))
        pred_bboxes[-1][:g] = gt_bboxes[-1]  # found at a random score
    m = match_images(pred_bboxes, pred_scores, gt_bboxes)
    curve = froc_curve(m)
    assert len(m.scores) == 600_000
    assert np.all(np.diff(curve.fps_per_image) >= 0)
    assert np.all(np.diff(curve.sensitivity) >= 0)
    assert curve.sensitivity[-1] == 1.0
    sens = sensitivity_at(curve)
    assert np.all(np.diff(sens) >= 0) and sens[-1] > 0


# --------------------------------------------------------------------------
# Bootstrap
# --------------------------------------------------------------------------


def test_bootstrap_counts_vs_repeated_images():
    images = random_images(3, num_images=9)
    arrays = to_arrays(images)
    m = match_images(**arrays)
    image_patient = np.array([0, 0, 1, 2, 2, 2, 3, 4, 4])
    counts = np.array([[1, 1, 1, 1, 1], [2, 0, 1, 0, 2], [0, 3, 0, 1, 1],
                       [5, 0, 0, 0, 0], [0, 0, 0, 0, 5]])
    got = bootstrap_cpm_from_counts(m, image_patient, counts)
    for b, row in enumerate(counts):
        # Build the resampled data set literally, then use the reference.
        resampled = to_arrays([
            images[i] for p in range(5) for _ in range(row[p])
            for i in np.nonzero(image_patient == p)[0]
        ])
        sens = froc_reference(
            resampled['pred_bboxes'], resampled['pred_scores'],
            resampled['gt_bboxes'], resampled['gt_ignore_flags'],
            pred_labels=resampled['pred_labels'],
            gt_labels=resampled['gt_labels'])
        np.testing.assert_allclose(got[b], np.mean(sens), rtol=0, atol=1e-9)
    # All counts one: the CPM of the data set itself.
    assert got[0] == pytest.approx(sensitivity_at(froc_curve(m)).mean(),
                                   abs=1e-12)


def test_bootstrap_one_patient_zero_width():
    m = match_images(**to_arrays(four_images()))
    low, high, samples = bootstrap_cpm(m, ['p1'] * 4, num_samples=50)
    assert low == high == pytest.approx(0.5)
    assert samples.shape == (50, )


def test_bootstrap_resamples_patients_not_images():
    # Two patients of 10 images each: only counts (2,0), (1,1), (0,2) exist,
    # so at most three distinct CPM values, however many samples.
    images = random_images(1, num_images=20)
    m = match_images(**to_arrays(images))
    patients = ['a'] * 10 + ['b'] * 10
    _, _, samples = bootstrap_cpm(m, patients, num_samples=200)
    assert len(np.unique(samples[~np.isnan(samples)])) <= 3
    # Per image, the samples spread much more.
    _, _, per_image = bootstrap_cpm(m, list(range(20)), num_samples=200)
    assert len(np.unique(per_image)) > 20


def test_bootstrap_is_seeded():
    m = match_images(**to_arrays(random_images(2, num_images=30)))
    patients = [i // 2 for i in range(30)]
    a = bootstrap_cpm(m, patients, num_samples=100, seed=0)
    b = bootstrap_cpm(m, patients, num_samples=100, seed=0)
    c = bootstrap_cpm(m, patients, num_samples=100, seed=1)
    np.testing.assert_array_equal(a[2], b[2])
    assert a[:2] == b[:2]
    assert not np.array_equal(a[2], c[2])
    cpm = sensitivity_at(froc_curve(m)).mean()
    assert a[0] <= cpm <= a[1]
    assert a[0] == pytest.approx(np.nanpercentile(a[2], 2.5))


def test_bootstrap_chunks_agree():
    m = match_images(**to_arrays(random_images(4, num_images=25)))
    counts = np.random.default_rng(0).multinomial(25, [1 / 25] * 25, 40)
    patient = np.arange(25)
    whole = bootstrap_cpm_from_counts(m, patient, counts)
    chunked = bootstrap_cpm_from_counts(m, patient, counts, chunk_elements=7)
    np.testing.assert_array_equal(whole, chunked)


# --------------------------------------------------------------------------
# Errors show the bad value
# --------------------------------------------------------------------------


@pytest.mark.parametrize('kwargs, message', [
    (dict(hit='centre'), "'centre'"),
    (dict(duplicates='count'), "'count'"),
    (dict(iou_thr=0.0), '0.0'),
    (dict(iou_thr=1.5), '1.5'),
])
def test_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        match_predictions(GT, [0.5], GT, **kwargs)


def test_bad_shapes():
    with pytest.raises(ValueError, match=r'\(3,\)'):
        match_predictions(np.zeros(3), [0.5], GT)
    with pytest.raises(ValueError, match='1 predicted boxes but 2 scores'):
        match_predictions(GT, [0.5, 0.4], GT)
    with pytest.raises(ValueError, match='pred_scores has 2 images'):
        match_images([GT], [[0.5], [0.4]], [GT])
    with pytest.raises(ValueError, match='image 0: 1 ground-truth boxes'):
        match_images([GT], [[0.5]], [GT], gt_labels=[np.array([0, 1])])
    with pytest.raises(ValueError, match='at least one image'):
        froc_curve(match_images([], [], []))
    m = FROCMatches(np.zeros(0), np.zeros(0, bool), np.zeros(0, bool),
                    np.zeros(0, int), np.zeros(2, int))
    with pytest.raises(ValueError, match='3 patient ids for 2 images'):
        bootstrap_cpm(m, [1, 2, 3])
    assert math.isnan(bootstrap_cpm(m, [1, 2], num_samples=3)[0])
