"""Boxes from a config's training split, after its training Resize."""
from pathlib import Path

import numpy as np
import pytest

from mmdet_inbreast.anchors.from_config import _resize_scale, boxes_from_config
from mmdet_inbreast.utils.errors import InputError

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
    with pytest.raises(InputError, match='no such config'):
        boxes_from_config('configs/nope.py')


@pytest.mark.parametrize('large_mass', ['shrink', 'clip'])
def test_crop_geometry_matches_the_transform(large_mass):
    """Box sizes after crop_geometry equal those MassPreservingRandomCrop
    gives when it picks the box, for boxes that fit, that are too wide,
    too tall, or both."""
    from mmdet.structures.bbox import HorizontalBoxes

    from mmdet_inbreast.anchors.from_config import crop_geometry
    from mmdet_inbreast.datasets.transforms import MassPreservingRandomCrop
    crop_cfg = dict(crop_size=(64, 48), large_mass=large_mass, margin=0.9)
    transform = MassPreservingRandomCrop(**crop_cfg)
    boxes = np.array([[10.5, 20.25, 50.0, 60.0],    # fits
                      [5.25, 30.0, 150.75, 60.5],   # too wide
                      [100.0, 3.5, 130.0, 190.0],   # too tall
                      [0.0, 0.0, 199.0, 180.0]])    # both
    got, keep = crop_geometry(boxes, crop_cfg)
    assert keep.all() and got.shape == (4, 4)
    np.testing.assert_allclose((got[:, :2] + got[:, 2:]) / 2,
                               (boxes[:, :2] + boxes[:, 2:]) / 2)
    for box, ours in zip(boxes, got):
        np.random.seed(0)
        out = transform(dict(
            img=np.ones((200, 210), np.uint16),
            gt_bboxes=HorizontalBoxes(box[None].astype(np.float32)),
            gt_bboxes_labels=np.zeros(1, np.int64),
            gt_ignore_flags=np.zeros(1, bool)))
        want = out['gt_bboxes'].numpy()[0]
        np.testing.assert_allclose(ours[2:] - ours[:2], want[2:] - want[:2],
                                   atol=2e-3)
    if large_mass == 'shrink':
        assert got[0].tolist() == boxes[0].tolist()
        assert (got[1:, 2] - got[1:, 0] < boxes[1:, 2] - boxes[1:, 0]).all()


def test_crop_geometry_skip():
    from mmdet_inbreast.anchors.from_config import crop_geometry
    boxes = np.array([[0, 0, 10, 10], [0, 0, 70, 10], [5, 5, 20, 60.5]])
    got, keep = crop_geometry(boxes, dict(crop_size=(64, 64),
                                          large_mass='skip'))
    assert keep.tolist() == [True, False, True]
    np.testing.assert_array_equal(got, boxes[[0, 2]])


def test_only_the_training_split(release, tmp_path):
    """Boxes come from train_dataloader's split only: a config training on
    half the images sees only their masses."""
    data_root, images = release
    with_mass = [i for i in images if i.mass_boxes]
    half = with_mass[:len(with_mass) // 2]
    (data_root / 'splits' / 'half.txt').write_text(
        ''.join(f'{i.file_name}\n' for i in half))
    got = boxes_from_config(
        str(REPO / 'configs' / 'retina_patch.py'), data_root=str(data_root),
        cfg_options={'train_dataloader.dataset.dataset.ann_file':
                     'splits/half.txt'})
    assert sorted(set(got.file_names)) == sorted(i.file_name for i in half)
    assert len(got.boxes) == sum(len(i.mass_boxes) for i in half)
    assert 'train split splits/half.txt' in got.source


def test_fit_anchors_for_config(release):
    """A loaded Config, as a study passes each fold's: the settings merge
    into model.bbox_head.anchor_generator and build mmdet's generator."""
    from mmdet.registry import TASK_UTILS
    from mmengine.config import Config

    from mmdet_inbreast.anchors import (evaluate_anchors,
                                        fit_anchors_for_config)
    data_root, _ = release
    cfg = Config.fromfile(str(REPO / 'configs' / 'retina_patch.py'))
    before = cfg.to_dict()
    gen = fit_anchors_for_config(cfg, data_root=str(data_root),
                                 num_ratios=1, num_scales=2, popsize=5)
    assert cfg.to_dict() == before  # the caller's config is not changed
    assert set(gen) == {'octave_base_scale', 'scales_per_octave', 'scales',
                        'ratios', 'strides'}
    assert gen['ratios'] == [1.0] and len(gen['scales']) == 2
    assert gen['strides'] == [8, 16, 32, 64, 128]
    cfg.merge_from_dict({'model.bbox_head.anchor_generator': gen})
    TASK_UTILS.build(cfg.model.bbox_head.anchor_generator)
    boxes = boxes_from_config(cfg, data_root=str(data_root)).boxes
    fitted = evaluate_anchors(boxes, gen['ratios'], gen['scales'],
                              with_stride=True)
    default = evaluate_anchors(boxes, [1.0], [4.0, 5.04], with_stride=True)
    assert fitted.objective_value <= default.objective_value
