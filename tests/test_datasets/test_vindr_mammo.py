"""VinDrMammoDataset on a synthetic VinDr-Mammo release: boxes, classes,
negatives, splits, malignancy, both photometric interpretations, and the
header check at load and in verify()."""
from __future__ import annotations

import csv
import os.path as osp
import shutil

import numpy as np
import pydicom
import pytest
from mmengine.registry import init_default_scope

import mmdet_inbreast  # noqa: F401
from mmdet_inbreast.datasets import VinDrMammoDataset
from mmdet_inbreast.datasets.synthetic_vindr import make_synthetic_vindr
from mmdet_inbreast.datasets.transforms.loading import read_dicom_pixels
from mmdet_inbreast.datasets.vindr_release import VinDrReleaseError
from mmdet_inbreast.utils.errors import InputError


@pytest.fixture(scope='module')
def vindr(tmp_path_factory):
    """(release folder, images written): 10 studies, 40 images."""
    out = tmp_path_factory.mktemp('vindr')
    images = make_synthetic_vindr(str(out), num_studies=10, seed=0)
    return str(out / 'vindr-mammo'), images


def copy_release(vindr, tmp_path) -> str:
    dst = str(tmp_path / 'vindr-mammo')
    shutil.copytree(vindr[0], dst)
    return dst


def read_rows(path: str) -> list[list[str]]:
    with open(path, newline='') as f:
        return list(csv.reader(f))


def write_rows(path: str, rows: list[list[str]]) -> None:
    with open(path, 'w', newline='') as f:
        csv.writer(f, lineterminator='\n').writerows(rows)


def boxes_of(images, category: str) -> dict[str, list[list[float]]]:
    return {im.image_id: [f.box for f in im.findings
                          if f.box is not None and category in f.categories]
            for im in images}


def test_default_mass_boxes_and_negatives(vindr):
    root, images = vindr
    ds = VinDrMammoDataset(data_root=root)
    assert len(ds) == len(images) == 40
    expected = boxes_of(images, 'Mass')
    n_mass = 0
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        im = images[i]  # CSV order
        assert info['file_name'] == im.image_id
        assert info['patient_id'] == info['study_id'] == im.study_id
        assert info['img_id'] == i
        assert (info['height'], info['width']) == (im.height, im.width)
        assert info['density'] == im.density[-1]
        assert info['birads'] == (im.breast_birads[-1])
        assert info['split'] == im.split
        got = [inst['bbox'] for inst in info['instances']]
        assert got == expected[im.image_id]
        assert all(inst['bbox_label'] == 0 and inst['ignore_flag'] == 0
                   for inst in info['instances'])
        n_mass += len(got)
    assert n_mass == sum(len(v) for v in expected.values()) > 0
    negatives = sum(1 for v in expected.values() if not v)
    assert sum(1 for i in range(len(ds))
               if not ds.get_data_info(i)['instances']) == negatives > 0
    assert ds.scan_report.problems == []


def test_multi_category_box_counts_for_each_class(vindr):
    root, images = vindr
    ds = VinDrMammoDataset(
        data_root=root,
        metainfo=dict(classes=('mass', 'suspicious_calcification')))
    assert len(ds.metainfo['palette']) == 2
    first = ds.get_data_info(0)
    box = images[0].findings[0].box
    assert images[0].findings[0].categories == ('Mass',
                                                'Suspicious Calcification')
    assert [(i['bbox'], i['bbox_label']) for i in first['instances']
            if i['bbox'] == box] == [(box, 0), (box, 1)]
    calc = boxes_of(images, 'Suspicious Calcification')
    for i, im in enumerate(images):
        got = [x['bbox'] for x in ds.get_data_info(i)['instances']
               if x['bbox_label'] == 1]
        assert got == calc[im.image_id]


def test_unknown_class_name_raises(vindr):
    with pytest.raises(VinDrReleaseError, match='calcification'):
        VinDrMammoDataset(data_root=vindr[0],
                          metainfo=dict(classes=('calcification', )))


@pytest.mark.parametrize('split,count', [('training', 32), ('test', 8),
                                         (None, 40)])
def test_official_split(vindr, split, count):
    ds = VinDrMammoDataset(data_root=vindr[0], split=split)
    assert len(ds) == count
    if split:
        assert {ds.get_data_info(i)['split'] for i in range(len(ds))} == {
            split}
        expected = [im.image_id for im in vindr[1] if im.split == split]
        assert [ds.get_data_info(i)['file_name']
                for i in range(len(ds))] == expected


def test_bad_split_value(vindr):
    with pytest.raises(VinDrReleaseError, match="split='train'"):
        VinDrMammoDataset(data_root=vindr[0], split='train')


def test_split_file_of_image_ids(vindr, tmp_path):
    root, images = vindr
    keys = [images[7].image_id, images[2].image_id, images[30].image_id]
    split = tmp_path / 'fold0.txt'
    split.write_text('# study-grouped split\n' + '\n'.join(keys) + '\n\n')
    ds = VinDrMammoDataset(data_root=root, ann_file=str(split))
    assert [ds.get_data_info(i)['file_name'] for i in range(3)] == keys
    assert [ds.get_data_info(i)['img_id'] for i in range(3)] == [7, 2, 30]
    split.write_text(keys[0] + '\n' + 'f' * 32 + '\n')
    with pytest.raises(VinDrReleaseError, match='another release'):
        VinDrMammoDataset(data_root=root, ann_file=str(split))
    split.write_text(keys[0] + '\n' + keys[0] + '\n')
    with pytest.raises(InputError, match='fold0.txt:2'):
        VinDrMammoDataset(data_root=root, ann_file=str(split))
    with pytest.raises(VinDrReleaseError, match='not both'):
        VinDrMammoDataset(data_root=root, ann_file=str(split),
                          split='test')


def test_malignancy_classes_from_finding_birads(vindr):
    root, images = vindr
    ds = VinDrMammoDataset(
        data_root=root, metainfo=dict(classes=('benign_mass',
                                               'malignant_mass')))
    want = {'BI-RADS 2': 0, 'BI-RADS 3': 0, 'BI-RADS 4': 1, 'BI-RADS 5': 1}
    n = {0: 0, 1: 0}
    for i, im in enumerate(images):
        expected = [(f.box, want[f.birads]) for f in im.findings
                    if f.box is not None and 'Mass' in f.categories]
        got = [(x['bbox'], x['bbox_label'])
               for x in ds.get_data_info(i)['instances']]
        assert got == expected
        for _, label in got:
            n[label] += 1
    assert n[0] > 0 and n[1] > 0
    # A stricter rule: BI-RADS 4 benign as well.
    ds4 = VinDrMammoDataset(
        data_root=root, malignancy=dict(benign=['2', '3', '4'],
                                        malignant=['5']),
        metainfo=dict(classes=('benign_mass', 'malignant_mass')))
    labels = [x['bbox_label'] for i in range(len(ds4))
              for x in ds4.get_data_info(i)['instances']]
    fives = sum(1 for im in images for f in im.findings
                if f.box is not None and 'Mass' in f.categories
                and f.birads == 'BI-RADS 5')
    assert labels.count(1) == fives


@pytest.mark.parametrize('unknown,flags', [('ignore', [1]), ('skip', [])])
def test_unknown_malignancy(vindr, tmp_path, unknown, flags):
    root = copy_release(vindr, tmp_path)
    path = osp.join(root, 'finding_annotations.csv')
    rows = read_rows(path)
    rows[1][rows[0].index('finding_birads')] = ''  # the first mass box
    write_rows(path, rows)
    ds = VinDrMammoDataset(
        data_root=root, malignancy=dict(unknown=unknown),
        metainfo=dict(classes=('benign_mass', 'malignant_mass')))
    box = vindr[1][0].findings[0].box
    got = [x['ignore_flag'] for x in ds.get_data_info(0)['instances']
           if x['bbox'] == box]
    assert got == flags
    assert ds.scan_report.counts[
        f'boxes of unknown malignancy ({unknown})'] == 1


def test_both_photometric_interpretations_load_dark_background(vindr):
    root, images = vindr
    seen = set()
    for im in images:
        if im.photometric in seen:
            continue
        seen.add(im.photometric)
        raw = pydicom.dcmread(im.dicom_path)
        assert raw.PhotometricInterpretation == im.photometric
        pixels, meta = read_dicom_pixels(im.dicom_path)
        corner = (0, im.width - 1) if im.laterality == 'R' else (0, 0)
        stored = int(raw.pixel_array[corner])
        top = 2**int(raw.BitsStored) - 1
        # Background: stored as the top value in MONOCHROME1, 0 in
        # MONOCHROME2; 0 after loading either way.
        assert stored == (top if im.photometric == 'MONOCHROME1' else 0)
        assert pixels[corner] == 0
        np.testing.assert_array_equal(
            pixels, top - raw.pixel_array
            if im.photometric == 'MONOCHROME1' else raw.pixel_array)
    assert seen == {'MONOCHROME1', 'MONOCHROME2'}


def test_registered_and_builds_from_config(vindr):
    from mmdet.registry import DATASETS
    init_default_scope('mmdet')
    ds = DATASETS.build(dict(type='VinDrMammoDataset', data_root=vindr[0],
                             split='test', test_mode=True))
    assert len(ds) == 8


def _pipeline():
    return [dict(type='LoadDicomImage'),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(type='PackDetInputs',
                 meta_keys=('img_id', 'ori_shape', 'img_shape'))]


def test_header_mismatch_reported_at_load_and_by_verify(vindr, tmp_path):
    init_default_scope('mmdet')
    root = copy_release(vindr, tmp_path)
    path = osp.join(root, 'breast-level_annotations.csv')
    rows = read_rows(path)
    h = rows[0].index('height')
    rows[3][h] = str(int(rows[3][h]) + 7)  # image 2 (line 4)
    write_rows(path, rows)
    ds = VinDrMammoDataset(data_root=root, pipeline=_pipeline())
    assert ds.get_data_info(2)['height'] == vindr[1][2].height + 7
    assert ds.header_mismatches == {}
    ds[0]
    assert ds.header_mismatches == {}
    ds[2]
    message = ds.header_mismatches[2]
    assert osp.join(root, 'images', vindr[1][2].study_id,
                    vindr[1][2].image_id + '.dicom') in message
    assert 'breast-level_annotations.csv:4' in message
    assert f'height {vindr[1][2].height + 7}' in message
    problems = ds.verify()
    assert len(problems) == 1 and 'breast-level_annotations.csv:4' in \
        problems[0]
    strict = VinDrMammoDataset(data_root=root, pipeline=_pipeline(),
                               strict=True)
    strict[1]
    with pytest.raises(VinDrReleaseError,
                       match='breast-level_annotations.csv:4'):
        strict[2]


def test_summary_line_is_logged(vindr, capsys):
    from mmengine.logging import MMLogger
    MMLogger.get_instance('vindr_summary')
    VinDrMammoDataset(data_root=vindr[0], split='test')
    out = capsys.readouterr().out
    assert 'split=test' in out and '8 images listed, 8 read' in out
    assert 'studies' in out
