"""Per-class reporting of FROCMetric and INbreastCocoMetric: two classes
(benign, malignant) with hand-computed sensitivities, and per-class AP
against pycocotools run on each class alone."""
import contextlib
import io
import json
import math

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

import mmdet_inbreast  # noqa: F401
from mmdet_inbreast.evaluation import FROCMetric
from mmdet_inbreast.evaluation.metrics import INbreastCocoMetric

CLASSES = ('benign_mass', 'malignant_mass')
B, M = 0, 1

# (img_id, predictions (score, box, label), ground truth (box, label)).
# Hand count, per image and class, predictions in score order:
#   malignant: .95 FP (1), .7 TP (0), .6 TP (1), .4 FP (3); 2 boxes, 4 images
#     -> fpi/sens: .25/0, .25/.5, .25/1, .5/1
#     -> sens@.125 = 0, sens@.25 ... @8 = 1, CPM = 6/7
#   benign: .9 TP (0), .8 FP (0: a benign guess on the malignant box),
#     .5 FP (2); 2 boxes -> 0/.5, .25/.5, .5/.5 -> every sens@ = .5
#   overall, pooled: .95 FP, .9 TP, .8 FP, .7 TP, .6 TP, .5 FP, .4 FP;
#     4 boxes -> .25/0, .25/.25, .5/.25, .5/.5, .5/.75, .75/.75, 1/.75
#     -> sens@ = 0, .25, .75, .75, .75, .75, .75; CPM = 4/7
IMAGES = [
    (0, [(0.9, [0, 0, 10, 10], B), (0.8, [20, 20, 30, 30], B),
         (0.7, [20, 20, 30, 30], M)],
     [([0, 0, 10, 10], B), ([20, 20, 30, 30], M)]),
    (1, [(0.95, [40, 40, 50, 50], M), (0.6, [0, 0, 10, 10], M)],
     [([0, 0, 10, 10], M)]),
    (2, [(0.5, [0, 0, 5, 5], B)], [([50, 50, 60, 60], B)]),
    (3, [(0.4, [1, 1, 2, 2], M)], []),
]
FPI = ('0.125', '0.25', '0.5', '1', '2', '4', '8')
EXPECTED = {
    'sens': [0, .25, .75, .75, .75, .75, .75], 'CPM': 4 / 7,
    'malignant_mass_sens': [0, 1, 1, 1, 1, 1, 1],
    'malignant_mass_CPM': 6 / 7,
    'benign_mass_sens': [.5] * 7, 'benign_mass_CPM': .5,
}


def data_samples(images=IMAGES):
    samples = []
    for img_id, preds, gts in images:
        pred = InstanceData()
        pred.bboxes = torch.tensor([p[1] for p in preds],
                                   dtype=torch.float32).reshape(-1, 4)
        pred.scores = torch.tensor([p[0] for p in preds])
        pred.labels = torch.tensor([p[2] for p in preds], dtype=torch.int64)
        samples.append(dict(
            img_id=img_id, ori_shape=(100, 100), pred_instances=pred,
            instances=[dict(bbox=g, bbox_label=label, ignore_flag=0)
                       for g, label in gts]))
    return samples


def froc(**kwargs):
    metric = FROCMetric(**kwargs)
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, data_samples())
    return metric.evaluate(len(IMAGES))


def test_froc_per_class_hand_computed(tmp_path):
    out = froc(outfile_prefix=str(tmp_path / 'r'))
    for prefix in ('', 'malignant_mass_', 'benign_mass_'):
        got = [out[f'froc/{prefix}sens@{f}'] for f in FPI]
        np.testing.assert_allclose(got, EXPECTED[f'{prefix}sens'])
        assert out[f'froc/{prefix}CPM'] == pytest.approx(
            EXPECTED[f'{prefix}CPM'])
    saved = json.load(open(tmp_path / 'r.froc.json'))
    assert saved['metrics']['malignant_mass_CPM'] == pytest.approx(6 / 7)
    mal = saved['per_class']['malignant_mass']
    assert mal['num_boxes'] == 2
    assert mal['fps_per_image'][-1] == 0.5 and mal['sensitivity'][-1] == 1


def test_froc_per_class_off():
    out = froc(per_class=False)
    assert set(out) == {f'froc/sens@{f}' for f in FPI} | {'froc/CPM'}
    assert out['froc/CPM'] == pytest.approx(4 / 7)


def test_froc_one_class_reports_overall_only():
    metric = FROCMetric()
    metric.dataset_meta = dict(classes=('mass', ))
    one = [(i, [(s, b, 0) for s, b, _ in p], [(g, 0) for g, _ in gts])
           for i, p, gts in IMAGES]
    metric.process({}, data_samples(one))
    assert not any('mass_' in k for k in metric.evaluate(4))


def _coco_single_class(label: int) -> tuple[float, float]:
    """pycocotools on one class alone: (AP, AP50)."""
    images, anns, dets = [], [], []
    for img_id, preds, gts in IMAGES:
        images.append(dict(id=img_id, width=100, height=100))
        for g, lab in gts:
            if lab == label:
                anns.append(dict(
                    id=len(anns) + 1, image_id=img_id, category_id=1,
                    bbox=[g[0], g[1], g[2] - g[0], g[3] - g[1]],
                    area=(g[2] - g[0]) * (g[3] - g[1]), iscrowd=0))
        for s, b, lab in preds:
            if lab == label:
                dets.append(dict(image_id=img_id, category_id=1, score=s,
                                 bbox=[b[0], b[1], b[2] - b[0],
                                       b[3] - b[1]]))
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = dict(images=images, annotations=anns,
                          categories=[dict(id=1, name='c')])
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(dets), 'bbox')
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats[0], ev.stats[1]


def test_coco_per_class_matches_pycocotools_on_one_class():
    metric = INbreastCocoMetric(ann_file=None, metric='bbox')
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, data_samples())
    out = metric.evaluate(len(IMAGES))
    aps = []
    for label, name in enumerate(CLASSES):
        ap, ap50 = _coco_single_class(label)
        assert out[f'coco/bbox_{name}_mAP'] == pytest.approx(ap, abs=1e-12)
        assert out[f'coco/bbox_{name}_mAP_50'] == pytest.approx(ap50,
                                                                abs=1e-12)
        aps.append(ap)
    # Hand check at IoU .5: malignant: hits at ranks 2, 3 of 4 -> precision
    # 1/2, 2/3 over recall .5, 1 -> AP50 = interpolated 2/3 at every
    # recall point up to 1: 2/3. Benign: rank 1 hits 1 of 2 boxes -> 1.0
    # up to recall .5, 0 after: 51 of 101 recall points -> 51/101.
    assert out['coco/bbox_malignant_mass_mAP_50'] == pytest.approx(2 / 3)
    assert out['coco/bbox_benign_mass_mAP_50'] == pytest.approx(51 / 101)
    assert out['coco/bbox_mAP'] == pytest.approx(np.mean(aps), abs=1e-3)


def test_coco_per_class_zero_when_nothing_predicted():
    metric = INbreastCocoMetric(ann_file=None, metric='bbox')
    metric.dataset_meta = dict(classes=CLASSES)
    empty = [(i, [], gts) for i, _, gts in IMAGES]
    metric.process({}, data_samples(empty))
    out = metric.evaluate(len(IMAGES))
    assert out['coco/bbox_malignant_mass_mAP'] == 0.0
    assert out['coco/bbox_benign_mass_mAP_50'] == 0.0


def test_coco_class_without_ground_truth_is_nan():
    metric = INbreastCocoMetric(ann_file=None, metric='bbox',
                                per_class=True)
    metric.dataset_meta = dict(classes=CLASSES + ('other', ))
    metric.process({}, data_samples())
    out = metric.evaluate(len(IMAGES))
    assert math.isnan(out['coco/bbox_other_mAP'])
    assert not math.isnan(out['coco/bbox_malignant_mass_mAP'])
