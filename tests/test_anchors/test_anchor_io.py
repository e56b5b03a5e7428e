"""Box CSV reading and the anchors.py config snippet."""
import numpy as np
import pytest

from mmdet_inbreast.anchors.io import BoxSet, config_snippet, load_boxes_csv
from mmdet_inbreast.anchors.iou import anchor_shapes
from mmdet_inbreast.utils.errors import InputError


def write(path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_load_keeps_zero_coordinates(tmp_path):
    # keras-retinanet's anchor tool skips rows with a 0 coordinate; we do not
    path = write(
        tmp_path / 'b.csv', 'file_name,x1,y1,x2,y2\n'
        '20586908,2392.179,982.936,2491.23,1097.146\n'
        '20586934,0,2040.66,311.995,2202.65\n'
        '20586960,-0.216,0,89.1,96.57\n')
    boxes = load_boxes_csv(path)
    assert boxes.boxes.shape == (3, 4)
    np.testing.assert_allclose(boxes.boxes[2], [-0.216, 0, 89.1, 96.57])
    assert boxes.file_names == ['20586908', '20586934', '20586960']
    assert boxes.image_sizes is None


def test_load_optional_image_sizes_and_extra_columns(tmp_path):
    path = write(
        tmp_path / 'b.csv', 'file_name,x1,y1,x2,y2,height,width,lesion\n'
        'a.dcm,1,2,30,40,4084,3328,mass\n')
    boxes = load_boxes_csv(path)
    np.testing.assert_array_equal(boxes.image_sizes, [[4084, 3328]])
    scaled = boxes.scaled(0.5)
    np.testing.assert_allclose(scaled.boxes, [[0.5, 1, 15, 20]])
    np.testing.assert_allclose(scaled.image_sizes, [[2042, 1664]])


@pytest.mark.parametrize('text,match', [
    ('name,x1,y1,x2,y2\na,1,2,3,4\n', r"lacks \['file_name'\]"),
    ('file_name,x1,y1,x2,y2\na,1,2,3,four\n',
     r"line 2: y2='four' is not a number"),
    ('file_name,x1,y1,x2,y2\na,1,2,3,4\nb,10,10,5,20\n',
     r'line 3: box .* is empty'),
    ('file_name,x1,y1,x2,y2\na,1,2,inf,4\n', 'not finite'),
    ('file_name,x1,y1,x2,y2\n', 'no boxes'),
])
def test_load_errors_name_file_and_line(tmp_path, text, match):
    path = write(tmp_path / 'bad.csv', text)
    with pytest.raises(ValueError, match=match) as err:
        load_boxes_csv(path)
    assert 'bad.csv' in str(err.value)


def test_load_missing_file(tmp_path):
    with pytest.raises(InputError, match='no such box CSV'):
        load_boxes_csv(str(tmp_path / 'nope.csv'))


def test_scaled_rejects_non_positive():
    boxes = BoxSet(np.ones((1, 4)), ['a'], None, 'x')
    with pytest.raises(ValueError, match='> 0'):
        boxes.scaled(0)


@pytest.mark.parametrize('ratios,scales', [
    ([0.731, 1.0, 1.3681], [9.3538, 12.4369, 15.2293]),
    ([0.6083, 0.815, 1.0, 1.2271, 1.6439], [7.6208, 9.4727, 12.3993]),
])
def test_snippet_builds_anchor_generator_with_these_anchors(
        tmp_path, ratios, scales):
    from mmengine.config import Config
    from mmdet.models.task_modules.prior_generators import AnchorGenerator
    from mmdet.registry import TASK_UTILS

    strides = [8, 16, 32, 64, 128]
    # inherit mmdet's RetinaNet, which sets octave_base_scale=4 and
    # scales_per_octave=3: the snippet must null them
    (tmp_path / 'base.py'
     ).write_text("_base_ = 'mmdet::_base_/models/retinanet_r50_fpn.py'\n")
    text = config_snippet(
        ratios, scales, strides, ['made by a test'], base='base.py')
    path = write(tmp_path / 'anchors.py', text)
    assert text.startswith('# made by a test\n')
    cfg = Config.fromfile(path)
    gen_cfg = cfg.model.bbox_head.anchor_generator
    assert gen_cfg.octave_base_scale is None and gen_cfg.scales == scales
    gen = TASK_UTILS.build(gen_cfg)
    assert isinstance(gen, AnchorGenerator)
    assert gen.num_base_priors == [len(ratios) * len(scales)] * 5
    shapes = anchor_shapes(ratios, scales, strides)
    for level, base in enumerate(gen.base_anchors):
        base = base.numpy().astype(np.float64)
        np.testing.assert_allclose(
            base[:, 2:] - base[:, :2], shapes[level], rtol=1e-6)


def test_snippet_without_base_is_a_fragment(tmp_path):
    from mmengine.config import Config
    text = config_snippet([1.0], [4.0], [8, 16])
    assert '_base_ =' not in text
    cfg = Config.fromfile(write(tmp_path / 'anchors.py', text))
    assert cfg.model.bbox_head.anchor_generator.to_dict() == dict(
        type='AnchorGenerator',
        octave_base_scale=None,
        scales_per_octave=None,
        scales=[4.0],
        ratios=[1.0],
        strides=[8, 16])
