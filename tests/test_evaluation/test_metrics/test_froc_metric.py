"""Tests of FROCMetric: data samples as mmdet packs them, beside CocoMetric."""
import json

import numpy as np
import pytest
import torch
from mmdet.registry import METRICS
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmengine.evaluator import Evaluator
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

import mmdet_inbreast  # noqa: F401  (registers FROCMetric)
from mmdet_inbreast.evaluation import FROCMetric

FAR = [500, 500, 510, 510]


def box(x):
    return [x, 0, x + 10, 10]


# Four images, four boxes (the hand-made case of test_froc.py):
# scores 0.95 .9 .85 .8 .7 .6 .5 are FP, TP, FP, FP, TP, TP, FP, so
# sens@ = 0, .25, .25, .75, .75, .75, .75 and CPM = 0.5.
# (img_id, patient_id, predictions (score, box), ground-truth boxes)
FOUR_IMAGES = [
    (0, 'p1', [(0.9, box(0)), (0.8, FAR), (0.6, box(100))],
     [box(0), box(100)]),
    (1, 'p1', [(0.95, FAR), (0.7, box(0))], [box(0)]),
    (2, 'p2', [(0.85, FAR), (0.5, FAR)], []),
    (3, 'p3', [], [box(0)]),
]
EXPECTED = {
    'sens@0.125': 0.0,
    'sens@0.25': 0.25,
    'sens@0.5': 0.25,
    'sens@1': 0.75,
    'sens@2': 0.75,
    'sens@4': 0.75,
    'sens@8': 0.75,
    'CPM': 0.5,
}


def pred_instances(preds):
    pred = InstanceData()
    pred.bboxes = torch.tensor([p[1] for p in preds],
                               dtype=torch.float32).reshape(-1, 4)
    pred.scores = torch.tensor([p[0] for p in preds], dtype=torch.float32)
    pred.labels = torch.zeros(len(preds), dtype=torch.int64)
    return pred


def sample_with_instances(img_id, patient_id, preds, gts, ignored=()):
    """A DetDataSample as the test pipeline packs it with 'instances' in
    PackDetInputs' meta_keys (CocoMetric's ground truth without ann_file)."""
    instances = [dict(bbox=g, bbox_label=0, ignore_flag=0) for g in gts]
    instances += [dict(bbox=g, bbox_label=0, ignore_flag=1) for g in ignored]
    metainfo = dict(img_id=img_id, ori_shape=(600, 600),
                    img_shape=(600, 600), instances=instances)
    if patient_id is not None:
        metainfo['patient_id'] = patient_id
    sample = DetDataSample(metainfo=metainfo)
    sample.pred_instances = pred_instances(preds)
    return sample


def sample_with_gt_instances(img_id, preds, gts, ignored=()):
    """A DetDataSample with LoadAnnotations' gt_instances/ignored_instances
    (boxes as HorizontalBoxes, as PackDetInputs leaves them)."""
    sample = DetDataSample(metainfo=dict(img_id=img_id, ori_shape=(600, 600)))
    gt = InstanceData()
    gt.bboxes = HorizontalBoxes(
        torch.tensor(gts, dtype=torch.float32).reshape(-1, 4))
    gt.labels = torch.zeros(len(gts), dtype=torch.int64)
    sample.gt_instances = gt
    ign = InstanceData()
    ign.bboxes = HorizontalBoxes(
        torch.tensor(list(ignored), dtype=torch.float32).reshape(-1, 4))
    ign.labels = torch.zeros(len(ignored), dtype=torch.int64)
    sample.ignored_instances = ign
    sample.pred_instances = pred_instances(preds)
    return sample


def evaluate(metric, samples, batch_size=2):
    """Run a metric as mmengine's loops do: to_dict(), batches, evaluate."""
    metric.dataset_meta = dict(classes=('mass', ))
    for i in range(0, len(samples), batch_size):
        metric.process({}, [s.to_dict() for s in samples[i:i + batch_size]])
    return metric.evaluate(len(samples))


def test_beside_coco_metric_in_evaluator(tmp_path):
    # As in a config: default_scope='mmdet', both metrics in val_evaluator.
    with DefaultScope.overwrite_default_scope('mmdet'):
        evaluator = Evaluator([
            dict(type='CocoMetric', metric='bbox',
                 outfile_prefix=str(tmp_path / 'coco')),
            dict(type='FROCMetric')
        ])
    evaluator.dataset_meta = dict(classes=('mass', ))
    samples = [sample_with_instances(*case) for case in FOUR_IMAGES]
    evaluator.process(samples[:2], {})
    evaluator.process(samples[2:], {})
    results = evaluator.evaluate(len(samples))
    assert 'coco/bbox_mAP_50' in results
    for key, value in EXPECTED.items():
        assert results[f'froc/{key}'] == pytest.approx(value, abs=1e-9), key
    assert [k for k in results if k.startswith('froc/')
            ] == [f'froc/{k}' for k in EXPECTED]


def test_gt_instances_path_equals_instances_path():
    ignored = [[200, 200, 220, 220]]
    preds = [(0.9, [200, 200, 220, 220]), (0.8, box(0)), (0.4, FAR)]
    a = evaluate(FROCMetric(), [
        sample_with_instances(0, None, preds, [box(0)], ignored),
        sample_with_instances(1, None, [(0.3, FAR)], []),
    ])
    b = evaluate(FROCMetric(), [
        sample_with_gt_instances(0, preds, [box(0)], ignored),
        sample_with_gt_instances(1, [(0.3, FAR)], []),
    ])
    assert a == b
    # The prediction on the ignored box is neither TP nor FP: sens 1 at
    # FP/image 0.5 (one FP in 0.4, one in 0.3; two images).
    assert a['froc/sens@0.5'] == 1.0
    assert a['froc/sens@0.25'] == 1.0
    assert a['froc/sens@0.125'] == 1.0


@pytest.mark.parametrize('duplicates, sens_at_half', [('ignore', 1.0),
                                                      ('fp', 0.5)])
def test_settings_reach_the_matching(duplicates, sens_at_half):
    # One image with two boxes: 0.9 finds A, 0.8 duplicates A, 0.7 finds B.
    preds = [(0.9, box(0)), (0.8, box(0)), (0.7, box(100))]
    res = evaluate(
        FROCMetric(duplicates=duplicates, fpi=(0.5, 1)),
        [sample_with_instances(0, None, preds, [box(0), box(100)])])
    assert res['froc/sens@0.5'] == sens_at_half
    assert res['froc/sens@1'] == 1.0
    assert set(res) == {'froc/sens@0.5', 'froc/sens@1', 'froc/CPM'}


def test_center_hit_and_prefix():
    # Centre (5, 5) inside a 100x100 box, IoU 0.01.
    sample = sample_with_instances(0, None, [(0.9, [0, 0, 10, 10])],
                                   [[0, 0, 100, 100]])
    res = evaluate(FROCMetric(hit='center', prefix='val_froc'), [sample])
    assert res['val_froc/CPM'] == 1.0
    res = evaluate(FROCMetric(), [sample])
    assert res['froc/CPM'] == 0.0


def test_bootstrap_one_patient_zero_width():
    samples = [
        sample_with_instances(img_id, 'same', preds, gts)
        for img_id, _, preds, gts in FOUR_IMAGES
    ]
    res = evaluate(FROCMetric(bootstrap=200), samples)
    assert res['froc/CPM_ci_low'] == pytest.approx(0.5, abs=1e-12)
    assert res['froc/CPM_ci_high'] == pytest.approx(0.5, abs=1e-12)


def test_bootstrap_uses_patient_id_and_is_seeded():
    samples = [sample_with_instances(*case) for case in FOUR_IMAGES]
    a = evaluate(FROCMetric(bootstrap=300, seed=3), samples)
    b = evaluate(FROCMetric(bootstrap=300, seed=3), samples)
    assert a == b
    assert a['froc/CPM_ci_low'] < a['froc/CPM'] < a['froc/CPM_ci_high']
    # Three patients (p1 holds images 0 and 1) give fewer distinct samples
    # than four independent images; check the metric passes patient ids by
    # comparing with the functional bootstrap on both groupings.
    from mmdet_inbreast.evaluation.functional import (bootstrap_cpm,
                                                      match_images)
    arrays = dict(pred_bboxes=[], pred_scores=[], gt_bboxes=[])
    for _, _, preds, gts in FOUR_IMAGES:
        arrays['pred_bboxes'].append(
            np.array([p[1] for p in preds], float).reshape(-1, 4))
        arrays['pred_scores'].append(np.array([p[0] for p in preds]))
        arrays['gt_bboxes'].append(np.array(gts, float).reshape(-1, 4))
    m = match_images(**arrays)
    by_patient = bootstrap_cpm(m, ['p1', 'p1', 'p2', 'p3'], num_samples=300,
                               seed=3)
    by_image = bootstrap_cpm(m, [0, 1, 2, 3], num_samples=300, seed=3)
    assert (a['froc/CPM_ci_low'], a['froc/CPM_ci_high']) == by_patient[:2]
    assert by_patient[:2] != by_image[:2]


def test_patient_fallback_to_img_id():
    samples = [
        sample_with_instances(img_id, None, preds, gts)
        for img_id, _, preds, gts in FOUR_IMAGES
    ]
    res = evaluate(FROCMetric(bootstrap=300, seed=3), samples)
    by_image = evaluate(
        FROCMetric(bootstrap=300, seed=3),
        [sample_with_instances(*c[:1], f'img{c[0]}', *c[2:])
         for c in FOUR_IMAGES])
    assert res == by_image


def test_outfile(tmp_path):
    prefix = tmp_path / 'run_a' / 'test'
    samples = [sample_with_instances(*case) for case in FOUR_IMAGES]
    res = evaluate(FROCMetric(outfile_prefix=str(prefix), bootstrap=10),
                   samples)
    with open(f'{prefix}.froc.json') as f:
        content = json.load(f)
    assert content['metrics'] == {
        k.split('/', 1)[1]: v
        for k, v in res.items()
    }
    assert content['num_images'] == 4 and content['num_boxes'] == 4
    assert content['num_patients'] == 3
    assert content['fpi'] == [0.125, 0.25, 0.5, 1, 2, 4, 8]
    # Every one of the seven thresholds moves the curve here.
    assert content['thresholds'] == pytest.approx(
        [0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5])
    assert content['fps_per_image'] == [.25, .25, .5, .75, .75, .75, 1.0]
    assert content['sensitivity'] == [0, .25, .25, .25, .5, .75, .75]


def test_outfile_keeps_only_corners(tmp_path):
    # Predictions on an ignored box move no point: their thresholds go.
    preds = [(0.9, box(0)), (0.8, [200, 200, 220, 220]),
             (0.7, [200, 200, 220, 220]), (0.6, FAR)]
    evaluate(
        FROCMetric(outfile_prefix=str(tmp_path / 'x')),
        [sample_with_instances(0, None, preds, [box(0)],
                               [[200, 200, 220, 220]])])
    content = json.loads((tmp_path / 'x.froc.json').read_text())
    assert content['thresholds'] == pytest.approx([0.9, 0.6])
    assert content['fps_per_image'] == [0.0, 1.0]
    assert content['sensitivity'] == [1.0, 1.0]


def test_no_boxes_gives_nan(tmp_path):
    res = evaluate(FROCMetric(outfile_prefix=str(tmp_path / 'n')),
                   [sample_with_instances(0, None, [(0.5, FAR)], [])])
    assert np.isnan(res['froc/CPM'])
    content = json.loads((tmp_path / 'n.froc.json').read_text())
    assert content['metrics']['CPM'] is None


def test_missing_ground_truth():
    sample = DetDataSample(metainfo=dict(img_id=7))
    sample.pred_instances = pred_instances([(0.5, FAR)])
    with pytest.raises(ValueError, match='image 7 has no ground truth'):
        FROCMetric().process({}, [sample.to_dict()])


def test_build_from_registry():
    metric = METRICS.build(
        dict(type='FROCMetric', fpi=(1, 2), iou_thr=0.3, hit='center',
             duplicates='fp', bootstrap=5))
    assert isinstance(metric, FROCMetric)
    assert metric.prefix == 'froc'
    assert metric.fpi == (1.0, 2.0)


@pytest.mark.parametrize('kwargs, message', [
    (dict(fpi=()), r'\(\)'),
    (dict(fpi=(0, 1)), r'\(0.0, 1.0\)'),
    (dict(hit='box'), "'box'"),
    (dict(duplicates='drop'), "'drop'"),
    (dict(iou_thr=0), 'got 0'),
    (dict(bootstrap=-1), 'got -1'),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FROCMetric(**kwargs)
