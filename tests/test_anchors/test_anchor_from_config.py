"""Boxes from a config's training split, after its training Resize."""
from pathlib import Path

import numpy as np
import pytest

from mmdet_inbreast.anchors.from_config import _resize_scale, boxes_from_config

REPO = Path(__file__).resolve().parents[2]


def mmdet_resize(transform: dict, boxes: np.ndarray, height: int, width: int):
    """Boxes and image shape after mmdet's own Resize on a blank image."""
    from mmdet.registry import TRANSFORMS
    from mmdet.structures.bbox import HorizontalBoxes
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    resize = TRANSFORMS.build(transform)
    out = resize(
        dict(
            img=np.zeros((height, width), np.uint8),
            gt_bboxes=HorizontalBoxes(boxes.astype(np.float32))))
    return out['gt_bboxes'].tensor.double().numpy(), out['img_shape']


@pytest.mark.parametrize('transform', [
    dict(type='Resize', scale=(2300, 1700), keep_ratio=True),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='Resize', scale=(512, 384), keep_ratio=False),
    dict(type='Resize', scale=640, keep_ratio=True),
    dict(type='Resize', scale_factor=0.5, keep_ratio=True),
    dict(type='Resize', scale_factor=(0.5, 0.25), keep_ratio=False),
])
def test_resize_scale_matches_mmdet_resize(transform):
    height, width = 510, 416
    boxes = np.array([[10.5, 20.25, 200.0, 300.0], [0.0, 0.0, 416.0, 510.0]])
    want_boxes, want_shape = mmdet_resize(transform, boxes, height, width)
    w_scale, h_scale, new_w, new_h = _resize_scale(transform, width, height)
    assert (new_h, new_w) == tuple(want_shape)
    got = boxes * [w_scale, h_scale, w_scale, h_scale]
    np.testing.assert_allclose(got, want_boxes, rtol=1e-6, atol=1e-3)


@pytest.fixture(scope='module')
def release(tmp_path_factory):
    from mmdet_inbreast.datasets.synthetic import make_synthetic_release
    root = tmp_path_factory.mktemp('synthetic')
    images = make_synthetic_release(
        str(root), num_patients=4, scale=0.125, seed=1, mass_fraction=0.7)
    data_root = root / 'INbreast Release 1.0'
    (data_root / 'splits').mkdir()
    (data_root / 'splits' / 'train.txt').write_text(''.join(f'{i.file_name}\n'
                                                            for i in images))
    assert sum(len(i.mass_boxes) for i in images) >= 2
    return data_root, images


def expected(images, pad=32):
    """Synthetic mass boxes and padded image sizes, one row per box."""
    boxes, sizes = [], []
    for image in images:
        for box in image.mass_boxes:
            boxes.append(box)
            sizes.append([
                np.ceil(image.height / pad) * pad,
                np.ceil(image.width / pad) * pad
            ])
    return np.array(boxes, dtype=np.float64), np.array(sizes)


def sort_rows(a: np.ndarray) -> np.ndarray:
    return a[np.lexsort(a.T[::-1])]


def test_patch_config_boxes_unchanged(release):
    """retina_patch.py crops but never resizes: original boxes."""
    data_root, images = release
    got = boxes_from_config(
        str(REPO / 'configs' / 'retina_patch.py'), data_root=str(data_root))
    want_boxes, want_sizes = expected(images)
    assert len(got.boxes) == len(want_boxes)
    # the release's XML stores Point_px with 3 decimals
    np.testing.assert_allclose(
        sort_rows(got.boxes), sort_rows(want_boxes), rtol=0, atol=6e-4)
    assert set(got.file_names) == {i.file_name for i in images if i.mass_boxes}
    assert {tuple(s)
            for s in got.image_sizes} == {tuple(s)
                                          for s in want_sizes}
    assert 'no resize' in got.source


def test_resized_config_boxes_follow_resize(release):
    """retina_resized.py: mmdet's own Resize on the same original boxes."""
    data_root, images = release
    config = str(REPO / 'configs' / 'retina_resized.py')
    got = boxes_from_config(config, data_root=str(data_root))
    original = boxes_from_config(
        str(REPO / 'configs' / 'retina_patch.py'), data_root=str(data_root))
    assert got.file_names == original.file_names
    by_name = {i.file_name: i for i in images}
    transform = dict(type='Resize', scale=(2300, 1700), keep_ratio=True)
    for k, name in enumerate(got.file_names):
        image = by_name[name]
        want, (h, w) = mmdet_resize(transform, original.boxes[k:k + 1],
                                    image.height, image.width)
        np.testing.assert_allclose(
            got.boxes[k], want[0], rtol=1e-6,
            atol=1e-3)  # mmdet boxes are float32
        np.testing.assert_array_equal(
            got.image_sizes[k],
            [np.ceil(h / 32) * 32, np.ceil(w / 32) * 32])
    assert got.boxes[:, 2].max() > max(i.width for i in images)  # enlarged
    assert 'resized' in got.source


def test_random_resize_is_refused(release, tmp_path):
    data_root, _ = release
    cfg = tmp_path / 'random_resize.py'
    cfg.write_text(
        f"_base_ = '{REPO / 'configs' / 'retina_resized.py'}'\n"
        "train_pipeline = [dict(type='LoadDicomImage'),\n"
        "    dict(type='RandomResize', scale=[(1333, 640), (1333, 800)]),\n"
        "    dict(type='PackDetInputs')]\n"
        'train_dataloader = dict(dataset=dict(pipeline=train_pipeline))\n')
    with pytest.raises(ValueError, match='resizes with RandomResize'):
        boxes_from_config(str(cfg), data_root=str(data_root))


def test_missing_config():
    with pytest.raises(FileNotFoundError, match='no such config'):
        boxes_from_config('configs/nope.py')
