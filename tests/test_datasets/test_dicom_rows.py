"""DicomRows / open_dicom_rows: rows read from uncompressed DICOMs are
bit-identical to the decode path (read_dicom_pixels), on pydicom's own test
files and on files written here (MONOCHROME1, signed, odd sizes, both byte
orders); compressed and unusual files fall back to the decode path."""
import pickle

import numpy as np
import pydicom
import pytest
from mmdet.structures.bbox import HorizontalBoxes
from pydicom.data import get_testdata_file
from pydicom.uid import ExplicitVRLittleEndian

from conftest import write_dicom
from mmdet_inbreast.datasets.dicom_rows import DicomRows, open_dicom_rows
from mmdet_inbreast.datasets.transforms import (LoadDicomImage,
                                                MassPreservingRandomCrop)
from mmdet_inbreast.datasets.transforms.loading import read_dicom_pixels

PYDICOM_FILES = ['CT_small.dcm',  # LE, signed, slope 1 intercept -1024
                 'MR_small.dcm',  # explicit LE, signed
                 'MR_small_bigendian.dcm',  # explicit big endian
                 'MR_small_implicit.dcm',  # implicit LE
                 'examples_overlay.dcm']  # 12 of 16 bits, 300 x 484


def assert_same_as_decode(path):
    rows = open_dicom_rows(path)
    assert isinstance(rows, DicomRows)
    ref, meta = read_dicom_pixels(path)
    assert rows.meta == meta
    assert rows.shape == ref.shape and rows.dtype == ref.dtype
    full = np.asarray(rows)
    assert full.dtype == ref.dtype and np.array_equal(full, ref)
    h, w = ref.shape
    rng = np.random.default_rng(0)
    for _ in range(10):
        y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
        y1, x1 = int(rng.integers(y0, h + 1)), int(rng.integers(x0, w + 1))
        crop = rows[y0:y1, x0:x1]
        assert isinstance(crop, np.ndarray) and crop.dtype == ref.dtype
        assert np.array_equal(crop, ref[y0:y1, x0:x1])
    assert np.array_equal(rows[::3, ::2], ref[::3, ::2])
    assert np.array_equal(rows[h - 1], ref[h - 1])
    return rows, ref


@pytest.mark.parametrize('name', PYDICOM_FILES)
def test_pydicom_test_files(name):
    assert_same_as_decode(get_testdata_file(name))


def test_big_endian_is_really_big_endian():
    path = get_testdata_file('MR_small_bigendian.dcm')
    rows = open_dicom_rows(path)
    assert rows.stored_dtype == np.dtype('>i2')
    assert np.array_equal(np.asarray(rows),
                          np.asarray(open_dicom_rows(
                              get_testdata_file('MR_small.dcm'))))


def test_monochrome1_big_endian(tmp_path):
    ds = pydicom.dcmread(get_testdata_file('MR_small_bigendian.dcm'))
    ds.PhotometricInterpretation = 'MONOCHROME1'
    path = str(tmp_path / 'mono1_be.dcm')
    ds.save_as(path)
    rows, ref = assert_same_as_decode(path)
    assert rows.photometric == 'MONOCHROME1'


@pytest.mark.parametrize('shape', [(7, 5), (33, 17), (1, 9)])
@pytest.mark.parametrize('dtype,bits,photometric,extra', [
    (np.uint16, 14, 'MONOCHROME1', {}),
    (np.uint16, 14, 'MONOCHROME2', {}),
    (np.uint8, 8, 'MONOCHROME1', {}),
    (np.uint8, 7, 'MONOCHROME2', {}),
    (np.uint16, 12, 'MONOCHROME1',
     dict(RescaleSlope='0.5', RescaleIntercept='-100')),
])
def test_written_files(tmp_path, shape, dtype, bits, photometric, extra):
    """Odd sizes (8-bit odd pixel counts carry a pad byte), MONOCHROME1 with
    and without a rescale, implicit and explicit VR."""
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 2**bits, size=shape).astype(dtype)
    for syntax in (None, ExplicitVRLittleEndian):
        path = str(tmp_path / f'x_{syntax is None}.dcm')
        write_dicom(path, pixels, photometric=photometric, bits_stored=bits,
                    transfer_syntax=syntax, **extra)
        rows, ref = assert_same_as_decode(path)
        if photometric == 'MONOCHROME2' and not extra:
            assert np.array_equal(np.asarray(rows), pixels)


def test_signed_12_bit_sign_extension(tmp_path):
    """12-bit two's complement in 16-bit words (upper bits 0): -5 is 0x0FFB."""
    values = np.array([[-5, 0, 7], [-2048, 2047, -1]])
    words = (values & 0x0FFF).astype(np.uint16).view(np.int16)
    path = str(tmp_path / 'signed.dcm')
    write_dicom(path, words, bits_stored=12)
    rows, ref = assert_same_as_decode(path)
    assert np.array_equal(np.asarray(rows), values.astype(np.float32))


@pytest.mark.parametrize('name', ['image_dfl.dcm',  # deflated
                                  'MR_truncated.dcm',  # pixel data cut
                                  'MR2_J2KR.dcm',  # JPEG 2000
                                  'liver_1frame.dcm',  # 1 bit
                                  'rtplan.dcm'])  # no pixels
def test_other_files_fall_back(name):
    path = get_testdata_file(name)
    if path is None:
        pytest.skip(f'{name} is not in this pydicom')
    assert open_dicom_rows(path) is None


def test_missing_file():
    assert open_dicom_rows('/nonexistent.dcm') is None


def test_pickles_without_the_map():
    rows = open_dicom_rows(get_testdata_file('CT_small.dcm'))
    first = rows[0:4, 0:4]
    assert rows._mm is not None
    copy = pickle.loads(pickle.dumps(rows))
    assert copy._mm is None and np.array_equal(copy[0:4, 0:4], first)


def test_load_dicom_image_lazy_and_compressed_fallback():
    t = LoadDicomImage(lazy_rows=True)
    out = t(dict(img_path=get_testdata_file('CT_small.dcm')))
    assert isinstance(out['img'], DicomRows)
    assert out['img_shape'] == (128, 128)
    assert out['dicom_meta']['transfer_syntax'] == 'Explicit VR Little Endian'
    dfl = t(dict(img_path=get_testdata_file('image_dfl.dcm')))
    assert isinstance(dfl['img'], np.ndarray)
    assert np.array_equal(dfl['img'], read_dicom_pixels(
        get_testdata_file('image_dfl.dcm'))[0])
    # to_float32 wants the whole image: decode path.
    t32 = LoadDicomImage(lazy_rows=True, to_float32=True)
    assert isinstance(t32(dict(img_path=get_testdata_file('CT_small.dcm')))
                      ['img'], np.ndarray)


@pytest.mark.parametrize('seed', range(6))
def test_crop_of_lazy_rows_equals_crop_of_decoded(synthetic_release, seed):
    """MassPreservingRandomCrop on the lazy image: same patch, boxes and
    offsets as on the decoded one (positives, negatives, shrink, padding)."""
    root, images = synthetic_release
    im = images[seed % len(images)]
    crop = MassPreservingRandomCrop(crop_size=(96, 128), tissue_stride=4)

    def run(lazy):
        out = LoadDicomImage(lazy_rows=lazy)(dict(img_path=im.dicom_path))
        assert isinstance(out['img'], DicomRows) == lazy
        boxes = np.asarray(im.mass_boxes, np.float32).reshape(-1, 4)
        out['gt_bboxes'] = HorizontalBoxes(boxes)
        out['gt_bboxes_labels'] = np.zeros(len(boxes), np.int64)
        out['gt_ignore_flags'] = np.zeros(len(boxes), bool)
        np.random.seed(seed)
        return crop(out)

    lazy, decoded = run(True), run(False)
    assert isinstance(lazy['img'], np.ndarray)
    assert lazy['img'].dtype == decoded['img'].dtype
    assert np.array_equal(lazy['img'], decoded['img'])
    assert lazy['crop_offset'] == decoded['crop_offset']
    assert np.array_equal(lazy['gt_bboxes'].numpy(),
                          decoded['gt_bboxes'].numpy())
