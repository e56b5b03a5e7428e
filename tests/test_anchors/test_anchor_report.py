"""Default-vs-optimised comparison, anchors.json, anchors.py, anchors.png."""
import json
import os.path as osp

import numpy as np
import pytest

from mmdet_inbreast.anchors.optimizer import evaluate_anchors, optimize_anchors
from mmdet_inbreast.anchors.report import (build_payload, compare_with_default,
                                           format_table, write_outputs)


@pytest.fixture(scope='module')
def fitted():
    rng = np.random.default_rng(0)
    size = np.exp(rng.normal(np.log(250), 0.5, 40))
    x1, y1 = rng.uniform(0, 2000, 40), rng.uniform(0, 2000, 40)
    boxes = np.stack([x1, y1, x1 + size, y1 + size * 1.1], axis=1)
    result = optimize_anchors(
        boxes, 3, 3, 'focal', True, seed=0, popsize=6, maxiter=40)
    comparison = compare_with_default(boxes, result)
    return boxes, result, comparison


def test_comparison_modes(fitted):
    boxes, result, comparison = fitted
    assert set(comparison) == {'stride_free', 'grid'}
    grid = comparison['grid']['optimised']
    assert grid.objective_value == result.evaluation.objective_value
    # the grid can only be worse than an anchor centred on each box
    for key in ('default', 'optimised'):
        assert np.all(comparison['grid'][key].best_iou <=
                      comparison['stride_free'][key].best_iou + 1e-12)
    want = evaluate_anchors(boxes, [0.5, 1.0, 2.0],
                            [4, 4 * 2**(1 / 3), 4 * 2**(2 / 3)])
    assert comparison['stride_free']['default'].mean_best_iou == \
        pytest.approx(want.mean_best_iou, abs=1e-12)


def test_payload_and_table(fitted):
    boxes, result, comparison = fitted
    payload = build_payload(result, comparison, len(boxes), 'x.csv', 'cmd')
    for key in ('ratios', 'scales', 'strides', 'objective', 'mean_best_iou',
                'unmatched', 'objective_value', 'default', 'seed'):
        assert key in payload
    assert payload['mode'] == 'grid' and payload['seed'] == 0
    assert payload['default']['ratios'] == [0.5, 1.0, 2.0]
    assert set(payload['default']) >= {
        'mean_best_iou', 'unmatched', 'objective_value'
    }
    json.dumps(payload)  # JSON-ready
    table = format_table(comparison, 'focal', len(boxes))
    lines = table.splitlines()
    assert 'stride-free' in lines[0] and 'on the anchor grid' in lines[0]
    assert lines[3].startswith('mmdet default') and '/40' in lines[3]
    assert lines[4].startswith('optimised')


def test_write_outputs(tmp_path, fitted):
    from mmengine.config import Config
    boxes, result, comparison = fitted
    payload = build_payload(result, comparison, len(boxes), 'x.csv', 'cmd')
    (tmp_path / 'base.py'
     ).write_text("_base_ = 'mmdet::_base_/models/retinanet_r50_fpn.py'\n")
    out = tmp_path / 'out'
    paths = write_outputs(
        str(out),
        boxes,
        result,
        comparison,
        payload,
        base=str(tmp_path / 'base.py'))
    assert [osp.basename(p)
            for p in paths] == ['anchors.json', 'anchors.py', 'anchors.png']
    assert all(osp.getsize(p) > 0 for p in paths)
    with open(paths[0]) as f:
        assert json.load(f)['scales'] == result.scales
    text = open(paths[1]).read()
    assert "_base_ = '../base.py'" in text and '#   cmd' in text
    cfg = Config.fromfile(paths[1])
    assert cfg.model.bbox_head.anchor_generator.ratios == result.ratios
    assert cfg.model.bbox_head.type == 'RetinaHead'  # inherited
    with open(paths[2], 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
