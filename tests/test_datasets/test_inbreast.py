"""INbreastDataset on hand-written and synthetic releases: data infos,
summary line, splits, classes, bad input (skipped or raised) and the
registry-built pipeline."""
import os
import os.path as osp
import shutil

import numpy as np
import pydicom
import pytest
import torch
from conftest import (P1, breast_pixels, lobulated, osirix_xml, write_dicom)
from mmengine.registry import init_default_scope

import mmdet_inbreast  # noqa: F401  (registration)
import mmdet_inbreast.datasets.base_mammo as base_module
from mmdet_inbreast.datasets import INbreastDataset
from mmdet_inbreast.datasets.inbreast_release import ReleaseError
from mmdet_inbreast.utils.errors import InputError

PYDICOM_FILES = osp.join(osp.dirname(pydicom.data.__file__), 'test_files')
DATA_KEYS = {'img_path', 'img_id', 'file_name', 'patient_id', 'laterality',
             'view', 'birads', 'birads_category', 'density', 'acr',
             'height', 'width', 'source', 'instances', 'sample_idx'}


@pytest.fixture
def summaries(monkeypatch):
    """The lines the dataset logs while it is built."""
    lines = []
    monkeypatch.setattr(base_module, 'print_log',
                        lambda msg, logger=None, **kw: lines.append(msg))
    return lines


def build(root, **kwargs):
    kwargs.setdefault('pipeline', [])
    return INbreastDataset(data_root=root, **kwargs)


def test_data_infos_handmade(handmade_release, summaries):
    """The release written by another program in the real layout: every
    mass box equals the min/max of its polygon (written with 6 decimals, so
    to 1e-3 px, well within the 1.5 px the issue allows)."""
    h = handmade_release
    ds = build(h.root)
    assert len(ds) == 5
    for i, key in enumerate(h.keys):
        info = ds.get_data_info(i)
        assert set(info) == DATA_KEYS
        assert info['img_path'] == h.dicom_paths[key]
        assert info['img_id'] == int(key) and info['file_name'] == key
        assert info['patient_id'] == h.patients[key]
        assert info['laterality'] == h.lateralities[key]
        assert info['view'] == h.views[key]
        assert info['birads'] == h.birads[key]
        assert info['acr'] == h.acr[key]
        assert (info['height'], info['width']) == h.sizes[key]
        boxes = np.array([ins['bbox'] for ins in info['instances']])
        expected = np.array(h.masses(key)).reshape(-1, 4)
        assert boxes.reshape(-1, 4).shape == expected.shape
        np.testing.assert_allclose(boxes.reshape(-1, 4), expected, atol=1e-3)
        assert np.abs(boxes.reshape(-1, 4) - expected).max(initial=0) < 1.5
        assert all(ins['bbox_label'] == 0 and ins['ignore_flag'] == 0
                   for ins in info['instances'])
    assert ds.get_data_info(1)['birads'] == '4a'
    assert ds.get_data_info(1)['birads_category'] == 4
    assert ds.get_data_info(0)['birads'] == '4c'
    # Negatives (no XML) are kept, with no instances.
    assert [ds.get_data_info(i)['instances'] == [] for i in range(5)] == [
        False, False, True, False, True]
    assert ds.metainfo['classes'] == ('mass', )
    # One summary line, unknown names reported once.
    assert len(summaries) == 1
    first, *rest = summaries[0].splitlines()
    assert first == (f'INbreastDataset({h.root!r}, split=all): 5 images '
                     'listed, 5 read, 2 negative, 0 skipped, 4 masses, '
                     '2 patients, 2 point ROIs (2 calcification), 1 unknown '
                     "ROI names ('nodule' x1)")
    assert rest == ["unknown ROI name 'nodule' (not used) in 1 file(s): "
                    f"{h.xml_path('22678622')}"]
    assert ds.scan_report.unknown_names == {'nodule': 1}


def test_classes_configurable(handmade_release, summaries):
    h = handmade_release
    ds = build(h.root, metainfo=dict(classes=('mass', 'cluster')))
    assert ds.metainfo['classes'] == ('mass', 'cluster')
    info = ds.get_data_info(h.keys.index('50994408'))
    labels = [ins['bbox_label'] for ins in info['instances']]
    assert labels == [1, 0]  # 'Cluster', then 'Mass' (file order)
    np.testing.assert_allclose(info['instances'][0]['bbox'],
                               [b for b, t in h.boxes['50994408']
                                if t == 'cluster'][0], atol=1e-3)
    assert '4 masses, 1 cluster, 2 patients' in summaries[0]
    ds = build(h.root, metainfo=dict(classes=('spiculated region', )))
    assert sum(len(ds.get_data_info(i)['instances'])
               for i in range(len(ds))) == 2


def test_split_file(handmade_release, summaries):
    h = handmade_release
    os.makedirs(osp.join(h.root, 'splits'))
    with open(osp.join(h.root, 'splits', 'val.txt'), 'w') as f:
        f.write('# val\n50994432\n22678646\n')
    ds = build(h.root, ann_file='splits/val.txt')
    assert [ds.get_data_info(i)['file_name'] for i in range(len(ds))] == [
        '50994432', '22678646']
    assert 'split=val.txt): 2 images listed, 2 read, 1 negative' in \
        summaries[-1]
    with open(osp.join(h.root, 'splits', 'empty.txt'), 'w') as f:
        f.write('# no patients\n')
    with pytest.raises(ReleaseError, match='the split lists no images'):
        build(h.root, ann_file='splits/empty.txt')
    with pytest.raises(FileNotFoundError, match='split file not found'):
        build(h.root, ann_file='splits/train.txt')


def test_filter_cfg(handmade_release, summaries):
    h = handmade_release
    ds = build(h.root, filter_cfg=dict(filter_empty_gt=True))
    assert len(ds) == 3
    ds = build(h.root, filter_cfg=dict(filter_empty_gt=True, min_size=90))
    assert [ds.get_data_info(i)['file_name'] for i in range(len(ds))] == [
        '22678622', '22678646']
    ds = build(h.root, filter_cfg=dict(filter_empty_gt=True), test_mode=True)
    assert len(ds) == 5


def test_orphans_reported(handmade_release, summaries):
    h = handmade_release
    os.remove(h.dicom_paths['50994432'])  # CSV row without DICOM
    write_dicom(osp.join(h.root, 'AllDICOMs',
                         f'77777777_{P1}_MG_R_CC_ANON.dcm'),
                breast_pixels(20, 20))  # DICOM without CSV row
    with open(osp.join(h.root, 'AllXML', '66666666.xml'), 'w') as f:
        f.write(osirix_xml([('Mass', lobulated(9, 9, 3, 3))], 20, 20))
    ds = build(h.root)
    assert len(ds) == 4
    text = summaries[0]
    assert ('5 images listed, 4 read, 1 negative, 1 skipped (1 CSV row '
            'without DICOM: 50994432), 4 masses, 2 patients') in text
    assert "1 XML without CSV row: ['66666666']" in text
    assert "1 DICOM without CSV row: ['77777777']" in text


# ----------------------------------------------------------- broken files
def _cut_pixels(h, key):
    path = h.dicom_paths[key]
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:-1000])
    return path, 'truncated or its Rows/Columns are wrong', 'unusable DICOM'


def _no_pixels(h, key):
    # An RT plan under a mammogram's name: its Modality is named first.
    shutil.copy(osp.join(PYDICOM_FILES, 'rtplan.dcm'), h.dicom_paths[key])
    return (h.dicom_paths[key], "Modality 'RTPLAN'",
            'not a mammogram (Modality)')


def _as_mammogram(src, dst):
    """A pydicom test file relabelled Modality MG, so that what is tested
    is not the modality."""
    ds = pydicom.dcmread(src)
    ds.Modality = 'MG'
    ds.save_as(dst)


def _compressed(h, key):
    """12-bit lossy JPEG that no installed decoder decodes."""
    _as_mammogram(osp.join(PYDICOM_FILES, 'JPEG-lossy.dcm'),
                  h.dicom_paths[key])
    try:
        pydicom.dcmread(h.dicom_paths[key]).pixel_array
    except Exception:
        return (h.dicom_paths[key], 'pip install python-gdcm',
                'compressed, no working decoder')
    pytest.skip('an installed decoder decodes JPEG-lossy.dcm')


def _three_d(h, key):
    write_dicom(h.dicom_paths[key], np.stack([breast_pixels(120, 96)] * 3))
    return (h.dicom_paths[key], '3 frames (3-D or multi-frame data',
            'unusable DICOM')


def _bit_depth(h, key):
    write_dicom(h.dicom_paths[key],
                breast_pixels(120, 96).astype(np.uint32), bits_stored=32)
    return h.dicom_paths[key], 'BitsAllocated=32', 'unusable DICOM'


def _colour(h, key):
    _as_mammogram(osp.join(PYDICOM_FILES, 'SC_rgb_small_odd.dcm'),
                  h.dicom_paths[key])
    return h.dicom_paths[key], '3-sample RGB image', 'unusable DICOM'


def _ct(h, key):
    shutil.copy(osp.join(PYDICOM_FILES, 'CT_small.dcm'), h.dicom_paths[key])
    return (h.dicom_paths[key], "Modality 'CT' (CT Image Storage) is not a "
            'mammogram', 'not a mammogram (Modality)')


def _swapped(h, key):
    write_dicom(h.dicom_paths[key], breast_pixels(120, 96).T.copy())
    return (h.xml_path(key), 'ImageHeight x ImageWidth = 120 x 96 but '
            f'{h.dicom_paths[key]} has Rows x Columns = 96 x 120; Rows and '
            'Columns are swapped', 'unusable XML')


def _xml_text(text):
    def breaker(h, key):
        with open(h.xml_path(key), 'w') as f:
            f.write(text)
        return h.xml_path(key), None
    return breaker


def _malformed_xml(h, key):
    path, _ = _xml_text('<plist version="1.0"><dict><key>Images')(h, key)
    return path, 'not a readable plist XML', 'unusable XML'


def _non_plist_xml(h, key):
    path, _ = _xml_text('<?xml version="1.0"?><annotation><object><name>'
                        'mass</name><bndbox/></object></annotation>')(h, key)
    return path, "plist has no 'Images' array", 'unusable XML'


def _entities(h, key):
    from test_release import BILLION_LAUGHS
    path, _ = _xml_text(BILLION_LAUGHS)(h, key)
    return path, 'declares entities', 'unusable XML'


def _outside(h, key):
    path, _ = _xml_text(osirix_xml(
        [('Mass', lobulated(30, 30, 9, 9)),
         ('Mass', [[50, 50], [60, 50], [300.25, 70]])], 120, 96))(h, key)
    return path, 'Point_px (300.25, 70) outside the 96 x 120', 'unusable XML'


def _count(h, key):
    path, _ = _xml_text(osirix_xml([('Mass', lobulated(30, 30, 9, 9, 20))],
                                   120, 96, num_points={0: 21}))(h, key)
    return path, 'declares NumberOfPoints=21 but has 20', 'unusable XML'


@pytest.mark.parametrize('breaker', [
    _cut_pixels, _no_pixels, _compressed, _three_d, _bit_depth, _colour,
    _ct, _swapped, _malformed_xml, _non_plist_xml, _entities, _outside, _count
], ids=lambda f: f.__name__.strip('_'))
def test_broken_file_skipped_or_raised(handmade_release, summaries,
                                       breaker):
    """Non-strict: only the broken image is left out, and named with its
    file and the fix; strict: the same error raises."""
    h = handmade_release
    key = '22678646'
    path, fragment, reason = breaker(h, key)
    ds = build(h.root)
    kept = [ds.get_data_info(i)['file_name'] for i in range(len(ds))]
    assert kept == [k for k in h.keys if k != key]
    # Nothing else lost: the other boxes are all there.
    assert sum(len(ds.get_data_info(i)['instances'])
               for i in range(len(ds))) == 2
    assert ds.scan_report.skipped == {reason: [key]}
    error = ds.scan_report.errors[key]
    assert error.startswith(path + ': ') and fragment in error
    text = summaries[0]
    assert (f'5 images listed, 4 read, 2 negative, 1 skipped (1 {reason}: '
            f'{key}), 2 masses, 2 patients') in text
    assert f'skipped {key}: {error}' in text
    # strict (on a split of that image alone: 22678622's unknown ROI name
    # would raise first): the same error raises.
    os.makedirs(osp.join(h.root, 'splits'), exist_ok=True)
    with open(osp.join(h.root, 'splits', 'one.txt'), 'w') as f:
        f.write(f'{key}\n')
    with pytest.raises(InputError) as e:
        build(h.root, ann_file='splits/one.txt', strict=True)
    assert str(e.value) == error


def test_duplicates_skipped_or_raised(handmade_release, summaries):
    h = handmade_release
    shutil.copy(h.dicom_paths['22678622'],
                h.dicom_paths['22678622'].replace(P1, 'a' * 16))
    ds = build(h.root)
    assert len(ds) == 4
    assert '1 duplicate DICOM key: 22678622' in summaries[0]
    with pytest.raises(ReleaseError, match='duplicate image key 22678622'):
        build(h.root, strict=True)


# --------------------------------------------------------------- pipeline
def test_registry_pipeline(handmade_release, summaries):
    from mmdet.registry import DATASETS
    init_default_scope('mmdet')
    h = handmade_release
    mean, std = 1600.0, 250.0
    ds = DATASETS.build(dict(
        type='INbreastDataset', data_root=h.root, ann_file='',
        pipeline=[
            dict(type='LoadDicomImage'),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(type='ZeroIgnoringNormalize', mean=mean, std=std),
            dict(type='PackDetInputs',
                 meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                            'scale_factor', 'background_value', 'file_name',
                            'patient_id')),
        ]))
    assert isinstance(ds, INbreastDataset)
    i = h.keys.index('22678646')
    out = ds[i]
    raw = pydicom.dcmread(h.dicom_paths['22678646']).pixel_array
    inputs = out['inputs']
    assert inputs.shape == (3, 120, 96) and inputs.dtype == torch.float32
    expected = (raw.astype(np.float64) - mean) / std
    for c in range(3):
        np.testing.assert_allclose(inputs[c].numpy(), expected, rtol=1e-6,
                                   atol=1e-6)
    sample = out['data_samples']
    np.testing.assert_allclose(sample.gt_instances.bboxes.numpy(),
                               h.masses('22678646'), atol=1e-3)
    assert sample.gt_instances.labels.tolist() == [0, 0]
    assert sample.metainfo['background_value'] == pytest.approx(-mean / std)
    assert sample.metainfo['scale_factor'] == (1.0, 1.0)
    assert sample.metainfo['patient_id'] == P1
    # A negative: empty boxes of the right shape.
    neg = ds[h.keys.index('22678670')]['data_samples']
    assert tuple(neg.gt_instances.bboxes.shape) == (0, 4)


# -------------------------------------------------------------- synthetic
def test_synthetic_release(synthetic_release, summaries):
    root, images = synthetic_release
    ds = build(root)
    assert len(ds) == len(images) == 22
    by_key = {im.file_name: im for im in images}
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        im = by_key[info['file_name']]
        assert (info['height'], info['width']) == (im.height, im.width)
        assert info['patient_id'] == im.patient_id
        assert info['view'] == im.view and info['laterality'] == im.laterality
        boxes = np.array([ins['bbox'] for ins in info['instances']])
        np.testing.assert_allclose(boxes.reshape(-1, 4),
                                   np.reshape(im.mass_boxes, (-1, 4)),
                                   atol=1e-3)
    masses = sum(len(im.mass_boxes) for im in images)
    negatives = sum(1 for im in images if not im.mass_boxes)
    assert (f'22 images listed, 22 read, {negatives} negative, 0 skipped, '
            f'{masses} masses, 6 patients') in summaries[0]
