"""The study statistics against brute force: the t-interval by hand, AP and
CPM of resampled data sets against pycocotools / the FROC functions run on
the data set with each patient's images really repeated, an exact
enumeration of every bootstrap draw of three patients, and the paired
interval and p-value against a plain loop."""
import itertools

import numpy as np
import pytest

from mmdet_inbreast.evaluation.functional.bootstrap import (
    ap_from_counts, coco_matches, draw_patient_counts, paired_bootstrap,
    patient_index, percentile_band, t_interval)
from mmdet_inbreast.evaluation.functional.froc import (froc_curve,
                                                       match_images,
                                                       sensitivity_at)
from mmdet_inbreast.evaluation.functional.froc_bootstrap import \
    bootstrap_cpm_from_counts


def test_t_interval_by_hand():
    s = t_interval([0.5, 0.6, 0.7, np.nan])
    # t(0.975, 2) = 4.302652729911275 (tables); s = 0.1.
    half = 4.302652729911275 * 0.1 / np.sqrt(3)
    assert s.n == 3 and s.mean == pytest.approx(0.6)
    assert s.std == pytest.approx(0.1)
    assert (s.low, s.high) == pytest.approx((0.6 - half, 0.6 + half))
    one = t_interval([0.3])
    assert one.mean == 0.3 and np.isnan(one.low) and one.n == 1
    assert t_interval([np.nan]).n == 0


def random_set(seed, num_patients=5, images_per_patient=2):
    """Images with 0-2 boxes and 0-4 predictions (continuous scores: no
    ties), some near a box, some not."""
    rng = np.random.default_rng(seed)
    gts, preds, scores, patients = [], [], [], []
    for p in range(num_patients):
        for _ in range(images_per_patient):
            n = int(rng.integers(0, 3))
            xy = rng.uniform(0, 80, (n, 2))
            wh = rng.uniform(10, 30, (n, 2))
            g = np.hstack([xy, xy + wh])
            pb = []
            for box in g:
                if rng.random() < 0.7:
                    pb.append(box + rng.normal(0, 3, 4))
            for _ in range(int(rng.integers(0, 3))):
                xy = rng.uniform(0, 80, 2)
                pb.append(np.hstack([xy, xy + rng.uniform(10, 30, 2)]))
            pb = np.asarray(pb, dtype=np.float64).reshape(-1, 4)
            pb[:, 2:] = np.maximum(pb[:, 2:], pb[:, :2] + 1)
            gts.append(g)
            preds.append(pb)
            scores.append(rng.uniform(0.05, 1, len(pb)))
            patients.append(f'p{p}')
    return gts, preds, scores, patients


def repeat(arrays, patient_idx, row):
    """The data set with each patient's images repeated row[p] times."""
    out = []
    for p, k in enumerate(row):
        for _ in range(int(k)):
            out += [a for a, q in zip(arrays, patient_idx) if q == p]
    return out


def brute_cpm(gts, preds, scores):
    curve = froc_curve(match_images(preds, scores, gts))
    return float(np.mean(sensitivity_at(curve)))


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_ap_identity_counts_equal_pycocotools(seed):
    gts, preds, scores, patients = random_set(seed, 8, 3)
    matches, ap_coco = coco_matches(gts, preds, scores)
    _, idx = patient_index(patients)
    ours = ap_from_counts(matches, idx, np.ones((1, idx.max() + 1)))[0]
    assert ours == pytest.approx(ap_coco, abs=1e-12)
    assert 0 < ap_coco < 1


def test_exact_enumeration_of_three_patients():
    """All 27 ordered draws of 3 patients: each resampled AP50 and CPM
    equals the metric of the data set with the images really repeated
    (pycocotools for AP50, match_images/froc_curve for the CPM)."""
    gts, preds, scores, patients = random_set(3, 3, 2)
    matches, _ = coco_matches(gts, preds, scores)
    froc = match_images(preds, scores, gts)
    _, idx = patient_index(patients)
    draws = list(itertools.product(range(3), repeat=3))
    counts = np.array([np.bincount(d, minlength=3) for d in draws])
    ap = ap_from_counts(matches, idx, counts)
    cpm = bootstrap_cpm_from_counts(froc, idx, counts)
    for b, row in enumerate(counts):
        g, p, s = (repeat(x, idx, row) for x in (gts, preds, scores))
        if sum(len(x) for x in g) == 0:
            assert np.isnan(ap[b]) and np.isnan(cpm[b])
            continue
        _, ap_brute = coco_matches(g, p, s)
        assert ap[b] == pytest.approx(ap_brute, abs=1e-12), row
        assert cpm[b] == pytest.approx(brute_cpm(g, p, s), abs=1e-12), row
    # The exact bootstrap distribution: the mean over the 27 equally
    # likely draws.
    assert np.nanmean(ap) == pytest.approx(
        np.mean([a for a in ap if not np.isnan(a)]))


def test_paired_bootstrap_against_a_loop():
    """Same RNG counts; the loop builds each resampled data set for both
    variants, computes AP50 by pycocotools, and takes percentiles and the
    p-value by their definitions."""
    gts, preds_a, scores_a, patients = random_set(4, 6, 2)
    rng = np.random.default_rng(9)
    # Variant b: the same boxes, scores shuffled (a worse ranking).
    preds_b = preds_a
    scores_b = [rng.permutation(s) * 0.9 for s in scores_a]
    _, idx = patient_index(patients)
    counts = draw_patient_counts(idx.max() + 1, 40, seed=5)
    ma, obs_a = coco_matches(gts, preds_a, scores_a)
    mb, obs_b = coco_matches(gts, preds_b, scores_b)
    res = paired_bootstrap(obs_a, obs_b, ap_from_counts(ma, idx, counts),
                           ap_from_counts(mb, idx, counts))
    diffs = []
    for row in counts:
        g = repeat(gts, idx, row)
        if sum(len(x) for x in g) == 0:
            continue
        _, a = coco_matches(g, repeat(preds_a, idx, row),
                            repeat(scores_a, idx, row))
        _, b = coco_matches(g, repeat(preds_b, idx, row),
                            repeat(scores_b, idx, row))
        diffs.append(a - b)
    diffs = np.sort(diffs)
    assert res.num_samples == len(diffs)
    assert res.diff == pytest.approx(obs_a - obs_b)
    # numpy's default percentile: linear between order statistics.
    n = len(diffs)
    for q, bound in ((2.5, res.low), (97.5, res.high)):
        pos = q / 100 * (n - 1)
        lo = int(np.floor(pos))
        expected = diffs[lo] + (pos - lo) * (diffs[min(lo + 1, n - 1)]
                                             - diffs[lo])
        assert bound == pytest.approx(expected, abs=1e-12)
    below = sum(d <= 0 for d in diffs)
    above = sum(d >= 0 for d in diffs)
    assert res.p == pytest.approx(min(1, 2 * min(below + 1, above + 1)
                                      / (n + 1)))


def test_paired_bootstrap_edges():
    r = paired_bootstrap(0.5, 0.5, np.array([np.nan, 0.1]),
                         np.array([0.2, np.nan]))
    assert r.num_samples == 0 and np.isnan(r.p) and r.diff == 0
    # Every sampled difference positive: p = 2 / (B + 1).
    r = paired_bootstrap(0.7, 0.5, np.full(99, 0.7), np.full(99, 0.5))
    assert r.p == pytest.approx(2 / 100) and r.low == pytest.approx(0.2)
    with pytest.raises(ValueError, match='shape'):
        paired_bootstrap(0, 0, np.zeros(3), np.zeros(4))


def test_counts_and_band():
    c = draw_patient_counts(7, 100, seed=1)
    assert c.shape == (100, 7) and (c.sum(1) == 7).all()
    assert (c == draw_patient_counts(7, 100, seed=1)).all()
    low, high = percentile_band(np.array([[0., 1.], [1., np.nan],
                                          [2., np.nan]]))
    assert low[0] == pytest.approx(0.05) and high[0] == pytest.approx(1.95)
    assert low[1] == high[1] == 1.0


def test_ap_ignored_boxes_as_mmdet_crowd():
    """An ignored box: a detection on it is neither TP nor FP, and it is
    not counted among the boxes."""
    gts = [np.array([[0, 0, 10, 10], [50, 50, 70, 70]], float)]
    ign = [np.array([False, True])]
    preds = [np.array([[50, 50, 70, 70], [0, 0, 10, 10]], float)]
    scores = [np.array([0.9, 0.8])]
    m, ap = coco_matches(gts, preds, scores, ign)
    assert m.num_gts.tolist() == [1]
    assert m.ignored.tolist() == [True, False]
    assert ap == pytest.approx(1.0)
    assert ap_from_counts(m, np.zeros(1, int),
                          np.ones((1, 1)))[0] == pytest.approx(1.0)
