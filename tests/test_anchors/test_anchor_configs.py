"""configs/retina_patch_anchors{9,15}.py hold what the optimiser gives on
the 116 real INbreast mass boxes (a benchmark: skipped without the CSV of
real boxes, which users do not have), and every real mass fits the patch
crop, so crop_geometry leaves them unchanged."""
import re
from pathlib import Path

import numpy as np
import pytest

from mmdet_inbreast.anchors import (evaluate_anchors, load_boxes_csv,
                                   optimize_anchors)

REPO = Path(__file__).resolve().parents[2]
BOXES = REPO.parent / 'shared' / 'data' / 'inbreast_mass_boxes.csv'


@pytest.mark.skipif(not BOXES.is_file(), reason=f'{BOXES} not present')
@pytest.mark.parametrize('name,num_ratios', [('retina_patch_anchors9.py', 3),
                                             ('retina_patch_anchors15.py', 5)])
def test_config_values_reproduce(name, num_ratios):
    from mmengine.config import Config
    text = (REPO / 'configs' / name).read_text()
    cfg = Config.fromfile(str(REPO / 'configs' / name))
    gen = cfg.model.bbox_head.anchor_generator
    assert gen.octave_base_scale is None and gen.scales_per_octave is None

    boxes = load_boxes_csv(str(BOXES)).boxes
    res = optimize_anchors(
        boxes, num_ratios, 3, 'focal', with_stride=True, seed=0)
    assert res.ratios == pytest.approx(gen.ratios, abs=2e-4)
    assert res.scales == pytest.approx(gen.scales, abs=2e-4)
    # the figures quoted in the comment
    grid = evaluate_anchors(boxes, gen.ratios, gen.scales, with_stride=True)
    quoted = re.search(r'default 0\.7832 -> (0\.\d{4})', text).group(1)
    assert f'{grid.mean_best_iou:.4f}' == quoted
    assert grid.unmatched == 0 and grid.mean_best_iou >= 0.85


@pytest.mark.skipif(not BOXES.is_file(), reason=f'{BOXES} not present')
def test_real_masses_fit_the_patch_crop():
    from mmengine.config import Config

    from mmdet_inbreast.anchors import crop_geometry
    cfg = Config.fromfile(str(REPO / 'configs' / 'retina_patch.py'))
    crop = next(t for t in cfg.train_dataloader.dataset.dataset.pipeline
                if t.type == 'MassPreservingRandomCrop')
    boxes = load_boxes_csv(str(BOXES)).boxes
    got, keep = crop_geometry(boxes, crop)
    assert keep.all()
    np.testing.assert_array_equal(got, boxes)
