"""Checks at the door: faults injected into a copy of the synthetic
release are refused by name (skip + report; ``strict=True`` raises), and
the summary line counts them."""
import os
import os.path as osp
import plistlib
import shutil

import numpy as np
import pydicom
import pytest

from mmdet_inbreast.datasets import INbreastDataset
from mmdet_inbreast.datasets.inbreast_release import (format_report,
                                                      iter_pixels,
                                                      scan_release)
from mmdet_inbreast.utils.errors import InputError


@pytest.fixture
def release(synthetic_release, tmp_path):
    """A writable copy of the synthetic release, and its images by key."""
    src, images = synthetic_release
    root = str(tmp_path / 'INbreast Release 1.0')
    shutil.copytree(src, root)
    for im in images:
        im_path = osp.join(root, 'AllDICOMs', osp.basename(im.dicom_path))
        assert osp.isfile(im_path)
    return root, {im.file_name: im for im in images}


def dicom_of(root, im):
    return osp.join(root, 'AllDICOMs', osp.basename(im.dicom_path))


def xml_of(root, key):
    return osp.join(root, 'AllXML', f'{key}.xml')


def positive(images):
    return next(im for im in images.values() if im.mass_boxes)


def negative_without_xml(root, images):
    return next(im for im in images.values()
                if not osp.isfile(xml_of(root, im.file_name)))


def edit_dicom(path, **values):
    ds = pydicom.dcmread(path)
    for k, v in values.items():
        setattr(ds, k, v)
    ds.save_as(path)


def skipped_only(report, reason, key):
    assert report.skipped == {reason: [key]}, report.skipped
    return report.errors[key]


def check_strict(root, key, error):
    """strict=True raises the same error (on a split of that image)."""
    with pytest.raises(InputError) as e:
        scan_release(root, keys=[key], strict=True)
    assert str(e.value) == error


@pytest.mark.parametrize('modality', ['CT', 'NM'])
def test_other_modality_refused_by_name(release, modality):
    root, images = release
    im = positive(images)
    path = dicom_of(root, im)
    edit_dicom(path, Modality=modality)
    records, report = scan_release(root)
    assert len(records) == 21 and im.file_name not in {
        r.file_name for r in records}
    error = skipped_only(report, 'not a mammogram (Modality)', im.file_name)
    assert error.startswith(f"{path}: Modality '{modality}' (")
    assert 'is not a mammogram (accepted: MG)' in error
    check_strict(root, im.file_name, error)
    # An explicit option allows it, for the scan and for the dataset.
    records, report = scan_release(root, allowed_modalities=('MG', modality))
    assert len(records) == 22 and report.skipped == {}
    ds = INbreastDataset(data_root=root, pipeline=[], test_mode=True,
                         allowed_modalities=['MG', modality])
    assert len(ds) == 22
    ds = INbreastDataset(data_root=root, pipeline=[], test_mode=True)
    assert len(ds) == 21
    assert ds.scan_report.skipped == {
        'not a mammogram (Modality)': [im.file_name]}


@pytest.mark.parametrize('values, fragment', [
    (dict(NumberOfFrames=2), '2 frames'),
    (dict(SamplesPerPixel=3), '3-sample MONOCHROME2 image'),
    (dict(PhotometricInterpretation='PALETTE COLOR'), 'PALETTE COLOR'),
])
def test_not_one_grayscale_frame_refused(release, values, fragment):
    root, images = release
    im = negative_without_xml(root, images)
    path = dicom_of(root, im)
    edit_dicom(path, **values)
    records, report = scan_release(root)
    assert len(records) == 21
    error = skipped_only(report, 'unusable DICOM', im.file_name)
    assert error.startswith(path + ': ') and fragment in error
    check_strict(root, im.file_name, error)


def test_swapped_rows_and_columns_refused_with_both_sizes(release):
    root, images = release
    im = positive(images)
    path = dicom_of(root, im)
    edit_dicom(path, Rows=im.width, Columns=im.height)  # same pixel count
    records, report = scan_release(root)
    assert len(records) == 21
    error = skipped_only(report, 'unusable XML', im.file_name)
    assert error == (
        f'{xml_of(root, im.file_name)}: ImageHeight x ImageWidth = '
        f'{im.height} x {im.width} but {path} has Rows x Columns = '
        f'{im.width} x {im.height}; Rows and Columns are swapped in the '
        'DICOM header, copy both files again from the release')
    check_strict(root, im.file_name, error)


@pytest.mark.parametrize('delta', [-64, 64])
def test_short_or_long_pixel_buffer_refused_at_scan(release, delta):
    root, images = release
    im = negative_without_xml(root, images)
    path = dicom_of(root, im)
    ds = pydicom.dcmread(path)
    ds.PixelData = ds.PixelData[:delta] if delta < 0 else \
        ds.PixelData + b'\0' * delta
    ds.save_as(path)
    records, report = scan_release(root)
    assert len(records) == 21
    error = skipped_only(report, 'unusable DICOM', im.file_name)
    need = im.height * im.width * 2
    assert error.startswith(
        f'{path}: pixel data hold {need + delta} bytes but Rows x Columns x '
        f'BitsAllocated ({im.height} x {im.width} x 16 bits) need {need}')
    check_strict(root, im.file_name, error)


def _rewrite_rois(path, edit):
    with open(path, 'rb') as f:
        plist = plistlib.load(f)
    edit(plist['Images'][0]['ROIs'])
    for image in plist['Images']:
        image['NumberOfROIs'] = len(image['ROIs'])
    with open(path, 'wb') as f:
        plistlib.dump(plist, f, fmt=plistlib.FMT_XML)


def _is_mass(roi):
    return roi['Name'].strip().lower() == 'mass'


@pytest.mark.parametrize('n_points', [0, 1, 2])
def test_mass_of_fewer_than_3_points_is_not_a_negative(release, n_points):
    root, images = release
    im = next(im for im in images.values() if len(im.mass_boxes) == 1)
    path = xml_of(root, im.file_name)

    def cut(rois):
        roi = next(r for r in rois if _is_mass(r))
        roi['Point_px'] = roi['Point_px'][:n_points]
        roi['Point_mm'] = roi['Point_mm'][:n_points]
        roi['NumberOfPoints'] = n_points
    _rewrite_rois(path, cut)
    records, report = scan_release(root)
    assert im.file_name not in {r.file_name for r in records}
    assert len(records) == 21
    error = skipped_only(report, 'ROI with fewer than 3 points',
                         im.file_name)
    assert error.startswith(f'{path}: ROI ')
    assert f'has {n_points} point(s), fewer than 3, so no box; the image ' \
        'is left out rather than read as a negative' in error
    assert report.point_rois['mass'] == 1
    summary = format_report(records, report).splitlines()[0]
    assert (f'1 skipped (1 ROI with fewer than 3 points: {im.file_name})'
            in summary)
    check_strict(root, im.file_name, error)


def test_unknown_names_reported_with_their_files(release):
    root, images = release
    keys = [k for k in images if osp.isfile(xml_of(root, k))][:2]

    def rename(rois):
        rois[0]['Name'] = ' Nodule '
    for k in keys:
        _rewrite_rois(xml_of(root, k), rename)
    records, report = scan_release(root)
    assert report.unknown_names == {'nodule': 2}
    assert report.unknown_name_files == {
        'nodule': [xml_of(root, k) for k in sorted(
            keys, key=[r.file_name for r in records].index)]}
    text = format_report(records, report)
    assert "2 unknown ROI names ('nodule' x2)" in text.splitlines()[0]
    assert text.splitlines()[1].startswith(
        "unknown ROI name 'nodule' (not used) in 2 file(s): ")
    for k in keys:
        assert xml_of(root, k) in text.splitlines()[1]
    with pytest.raises(InputError) as e:
        scan_release(root, keys=keys[:1], strict=True)
    assert str(e.value).startswith(f'{xml_of(root, keys[0])}: ROI 0 has the '
                                   "unknown name 'Nodule'")


def test_point_rois_counted_by_lesion_name(synthetic_release):
    root, images = synthetic_release
    records, report = scan_release(root)
    # Count the 1-2 point ROIs of the XML files directly.
    expected = {}
    for name in os.listdir(osp.join(root, 'AllXML')):
        with open(osp.join(root, 'AllXML', name), 'rb') as f:
            for roi in plistlib.load(f)['Images'][0]['ROIs']:
                if len(roi['Point_px']) <= 2:
                    kind = ' '.join(roi['Name'].split()).lower()
                    kind = kind.rstrip('s') if kind.startswith('calc') else \
                        kind
                    expected[kind] = expected.get(kind, 0) + 1
    assert expected and dict(report.point_rois) == expected
    n = sum(expected.values())
    line = format_report(records, report).splitlines()[0]
    assert f', {n} point ROIs (' in line
    assert line.endswith(', 0 unknown ROI names')


def test_summary_line_counts_everything(release):
    """listed / read / skipped by reason / point ROIs / unknown names."""
    root, images = release
    ims = list(images.values())
    edit_dicom(dicom_of(root, ims[0]), Modality='CT')
    edit_dicom(dicom_of(root, ims[1]), Modality='NM')
    edit_dicom(dicom_of(root, ims[2]), NumberOfFrames=3)
    records, report = scan_release(root)
    line = format_report(records, report).splitlines()[0]
    assert line.startswith(
        f'22 images listed, 19 read, '
        f'{sum(1 for r in records if not r.boxes)} negative, 3 skipped (2 '
        f'not a mammogram (Modality): {ims[0].file_name}, '
        f'{ims[1].file_name}; 1 unusable DICOM: {ims[2].file_name}), ')
    assert 'point ROIs' in line and line.endswith('0 unknown ROI names')


def test_iter_pixels_skips_and_reports(release):
    root, images = release
    records, report = scan_release(root)
    victim = records[3]
    with open(victim.img_path, 'rb') as f:
        data = f.read()
    with open(victim.img_path, 'wb') as f:  # broken after the scan
        f.write(data[:-100])
    seen = {r.file_name: px for r, px in iter_pixels(records, report)}
    assert len(seen) == 21 and victim.file_name not in seen
    assert report.skipped == {'pixels not decodable': [victim.file_name]}
    assert report.errors[victim.file_name].startswith(victim.img_path)
    r0 = records[0]
    np.testing.assert_array_equal(
        seen[r0.file_name], pydicom.dcmread(r0.img_path).pixel_array)
