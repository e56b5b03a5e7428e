"""MassRepeatDataset: positives 5 times, negatives 2 times per epoch."""
import json
from collections import Counter

import numpy as np
import pytest
from mmdet.registry import DATASETS
from mmengine.config import Config
from mmengine.dataset import BaseDataset
from mmengine.registry import DefaultScope

import mmdet_inbreast  # noqa: F401  (registration)
from mmdet_inbreast.datasets import INbreastDataset, MassRepeatDataset
from mmdet_inbreast.utils import set_data_root


class _ListDataset(BaseDataset):
    """Data infos given in memory (no annotation file)."""

    METAINFO = dict(classes=('mass', ), palette=[(220, 20, 60)])

    def __init__(self, infos, **kwargs):
        self._infos = infos
        super().__init__(ann_file='', serialize_data=False, **kwargs)

    def load_data_list(self):
        return [dict(info) for info in self._infos]


def _inst(ignore=0):
    return dict(bbox=[1.0, 2.0, 3.0, 4.0], bbox_label=0, ignore_flag=ignore)


# Positive, negative, ignore-only (negative), mixed (positive), negative.
_INFOS = [
    dict(img_id=0, instances=[_inst()]),
    dict(img_id=1, instances=[]),
    dict(img_id=2, instances=[_inst(1), _inst(1)]),
    dict(img_id=3, instances=[_inst(1), _inst(0)]),
    dict(img_id=4),
]


def test_counts_in_memory():
    ds = MassRepeatDataset(_ListDataset(_INFOS), pos_times=5, neg_times=2)
    assert [ds.is_positive(i) for i in range(5)] == [
        True, False, False, True, False]
    assert ds.num_positive == 2
    assert len(ds) == 5 * 2 + 2 * 3
    ori = [ds.get_ori_index(i) for i in range(len(ds))]
    assert Counter(ori) == {0: 5, 1: 2, 2: 2, 3: 5, 4: 2}
    for i in range(len(ds)):
        assert ds.get_data_info(i)['img_id'] == ori[i]
        assert ds[i]['img_id'] == ori[i]  # no pipeline: the info itself


@pytest.mark.parametrize('pos_times,neg_times,expected', [
    (3, 1, {0: 3, 1: 1, 2: 1, 3: 3, 4: 1}),
    (1, 0, {0: 1, 3: 1}),
    (0, 4, {1: 4, 2: 4, 4: 4}),
])
def test_configurable_times(pos_times, neg_times, expected):
    ds = MassRepeatDataset(_ListDataset(_INFOS), pos_times=pos_times,
                           neg_times=neg_times)
    assert len(ds) == sum(expected.values())
    assert Counter(ds.get_ori_index(i) for i in range(len(ds))) == expected


@pytest.mark.parametrize('pos_times,neg_times', [(-1, 2), (5, -1), (0, 0)])
def test_invalid_times(pos_times, neg_times):
    with pytest.raises(ValueError, match='pos_times'):
        MassRepeatDataset(_ListDataset(_INFOS), pos_times=pos_times,
                          neg_times=neg_times)


def test_not_a_dataset():
    with pytest.raises(TypeError):
        MassRepeatDataset([1, 2, 3])


def test_lazy_init_and_metainfo():
    inner = _ListDataset(_INFOS, lazy_init=True,
                         metainfo=dict(classes=('mass', )))
    ds = MassRepeatDataset(inner, lazy_init=True)
    assert not ds._fully_initialized
    assert ds.metainfo['classes'] == ('mass', )
    assert len(ds) == 16  # full_init on first use
    assert ds._fully_initialized
    meta = ds.metainfo
    meta['classes'] = ('changed', )  # a copy: the wrapper is unaffected
    assert ds.metainfo['classes'] == ('mass', )
    assert ds.metainfo == inner.metainfo


# ------------------------------------------------ on the synthetic release
@pytest.fixture(scope='module')
def stats_file(synthetic_release, tmp_path_factory):
    """Zero-ignoring statistics of the release (tools/compute_stats.py)."""
    from mmdet_inbreast.datasets import scan_release
    from mmdet_inbreast.datasets.stats import nonzero_stats
    from mmdet_inbreast.datasets.transforms.loading import read_dicom_pixels
    records, _ = scan_release(synthetic_release[0])
    stats = nonzero_stats(read_dicom_pixels(r.img_path)[0] for r in records)
    path = tmp_path_factory.mktemp('stats') / 'train_stats.json'
    path.write_text(json.dumps(stats))
    return str(path)


def _pipeline(crop=(64, 48)):
    return [
        dict(type='LoadDicomImage'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='MassPreservingRandomCrop', crop_size=crop,
             tissue_stride=4),
        dict(type='PackDetInputs',
             meta_keys=('img_id', 'img_shape', 'crop_offset')),
    ]


def test_counts_on_synthetic_release(synthetic_release):
    root, images = synthetic_release
    pos = sum(bool(im.mass_boxes) for im in images)
    neg = len(images) - pos
    assert pos > 0 and neg > 0
    with DefaultScope.overwrite_default_scope('mmdet'):
        ds = DATASETS.build(
            dict(type='MassRepeatDataset',
                 dataset=dict(type='INbreastDataset', data_root=root,
                              pipeline=_pipeline())))
    assert isinstance(ds, MassRepeatDataset)
    assert isinstance(ds.dataset, INbreastDataset)
    assert (ds.pos_times, ds.neg_times) == (5, 2)
    assert ds.num_positive == pos
    assert len(ds) == 5 * pos + 2 * neg
    times = {im.file_name: 5 if im.mass_boxes else 2 for im in images}
    seen = Counter(ds.get_data_info(i)['file_name'] for i in range(len(ds)))
    assert seen == times
    counts = Counter(ds.get_ori_index(i) for i in range(len(ds)))
    assert sorted(counts) == list(range(len(images)))
    assert ds.metainfo == ds.dataset.metainfo
    assert ds.metainfo['classes'] == ('mass', )


def test_fresh_crop_each_repeat(synthetic_release):
    root, _ = synthetic_release
    with DefaultScope.overwrite_default_scope('mmdet'):
        ds = DATASETS.build(
            dict(type='MassRepeatDataset', pos_times=5, neg_times=2,
                 dataset=dict(type='INbreastDataset', data_root=root,
                              pipeline=_pipeline())))
    np.random.seed(0)
    by_image = {}
    for i in range(len(ds)):
        out = ds[i]
        sample = out['data_samples']
        assert out['inputs'].shape == (1, 48, 64)
        assert sample.img_id == ds.get_data_info(i)['img_id']
        by_image.setdefault(ds.get_ori_index(i), []).append(
            sample.crop_offset)
    for k, offsets in by_image.items():
        assert len(offsets) == (5 if ds.is_positive(k) else 2)
        # Every repeat draws its own crop: no image gets one crop for all.
        assert len(set(offsets)) > 1, (k, offsets)
    # Two consecutive repeats of one positive image differ.
    k = next(k for k in by_image if ds.is_positive(k))
    assert by_image[k][0] != by_image[k][1]


def test_ignore_only_images_count_as_negative(synthetic_release):
    root, images = synthetic_release
    inner = INbreastDataset(data_root=root, pipeline=[], serialize_data=False)
    k = next(i for i in range(len(inner))
             if inner.get_data_info(i)['instances'])
    for inst in inner.data_list[k]['instances']:
        inst['ignore_flag'] = 1
    ds = MassRepeatDataset(inner, pos_times=5, neg_times=2)
    pos = sum(bool(im.mass_boxes) for im in images) - 1
    assert not ds.is_positive(k)
    assert ds.num_positive == pos
    assert len(ds) == 5 * pos + 2 * (len(images) - pos)
    assert sum(ds.get_ori_index(i) == k for i in range(len(ds))) == 2


def test_patch_config_train_dataset(synthetic_release, stats_file):
    """The train dataset of configs/demo/retina_demo_patch.py (which
    inherits configs/retina_patch.py): 5 / 2 repeats, normalised crops."""
    root, images = synthetic_release
    cfg = Config.fromfile('configs/demo/retina_demo_patch.py')
    set_data_root(cfg, root, stats_file)
    cfg.train_dataloader.dataset.dataset.ann_file = ''  # every image
    with DefaultScope.overwrite_default_scope('mmdet'):
        ds = DATASETS.build(cfg.train_dataloader.dataset)
    assert isinstance(ds, MassRepeatDataset)
    pos = sum(bool(im.mass_boxes) for im in images)
    assert len(ds) == 5 * pos + 2 * (len(images) - pos)
    np.random.seed(0)
    out = ds[0]
    assert out['inputs'].shape == (3, 160, 160)
    assert out['data_samples'].crop_offset is not None
