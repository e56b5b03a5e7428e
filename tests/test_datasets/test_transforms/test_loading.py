"""LoadDicomImage and read_dicom_pixels on INbreast-like files and on the
DICOM test files that ship with pydicom (never downloaded)."""
import os.path as osp
import shutil

import numpy as np
import pydicom
import pytest
from conftest import breast_pixels, write_dicom
from pydicom.pixels import apply_voi_lut, get_decoder

from mmdet_inbreast.datasets.transforms import LoadDicomImage
from mmdet_inbreast.datasets.transforms.loading import read_dicom_pixels

PYDICOM_FILES = osp.join(osp.dirname(pydicom.data.__file__), 'test_files')


def pydicom_file(name):
    path = osp.join(PYDICOM_FILES, name)
    if not osp.isfile(path):  # never download (get_testdata_file would)
        pytest.skip(f'{name} is not bundled with this pydicom')
    return path


def load(path, **kwargs):
    return LoadDicomImage(**kwargs)(dict(img_path=path))


# ------------------------------------------------------------- INbreast-like
def test_inbreast_like_uint16_kept(synthetic_release):
    _, images = synthetic_release
    im = images[1]
    results = load(im.dicom_path)
    img = results['img']
    raw = pydicom.dcmread(im.dicom_path).pixel_array
    assert img.dtype == np.uint16  # no float copy
    assert img.shape == (im.height, im.width) == raw.shape
    np.testing.assert_array_equal(img, raw)
    assert img.max() > 1500  # full 14-bit range, not windowed to 8 bits
    assert (img == 0).any()  # background stays 0
    assert results['img_shape'] == results['ori_shape'] == img.shape
    assert results['scale_factor'] == (1.0, 1.0)
    assert results['dicom_meta'] == dict(
        bits_stored=14, photometric='MONOCHROME2',
        pixel_spacing=(0.07, 0.07),
        transfer_syntax='Explicit VR Little Endian')
    out = load(im.dicom_path, to_float32=True)['img']
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, raw)


def test_implicit_vr_8bit(tmp_path):
    path = str(tmp_path / 'a.dcm')
    px = (breast_pixels(40, 30) // 16).astype(np.uint8)
    write_dicom(path, px, bits_stored=8)
    img, meta = read_dicom_pixels(path)
    assert img.dtype == np.uint8
    np.testing.assert_array_equal(img, px)
    assert meta['transfer_syntax'] == 'Implicit VR Little Endian'


def test_rescale_ct_small():
    """CT_small.dcm: signed int16 with RescaleIntercept -1024."""
    path = pydicom_file('CT_small.dcm')
    ds = pydicom.dcmread(path)
    assert float(ds.RescaleIntercept) == -1024.0
    img, _ = read_dicom_pixels(path)
    assert img.dtype == np.float32 and img.shape == (128, 128)
    expected = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) - \
        1024.0
    np.testing.assert_array_equal(img, expected)
    assert img.min() == ds.pixel_array.min() - 1024


def test_rescale_slope_handmade(tmp_path):
    path = str(tmp_path / 'a.dcm')
    px = breast_pixels(20, 16)
    write_dicom(path, px, RescaleSlope='0.5', RescaleIntercept='10')
    img, _ = read_dicom_pixels(path)
    assert img.dtype == np.float32
    np.testing.assert_array_equal(img, px * 0.5 + 10)


def test_signed_mr_small():
    path = pydicom_file('MR_small.dcm')
    img, meta = read_dicom_pixels(path)
    raw = pydicom.dcmread(path).pixel_array
    assert raw.dtype == np.int16 and img.dtype == np.float32
    np.testing.assert_array_equal(img, raw)
    assert meta['bits_stored'] == 16


def test_monochrome1_inverted(tmp_path):
    """MONOCHROME1: high raw values are dark; after loading, the black
    background is 0 and the image stays uint16."""
    path = str(tmp_path / 'm1.dcm')
    raw = np.full((30, 20), 4095, dtype=np.uint16)  # 12-bit black
    raw[:, :12] = np.arange(12 * 30).reshape(30, 12) + 100
    write_dicom(path, raw, photometric='MONOCHROME1', bits_stored=12)
    img, meta = read_dicom_pixels(path)
    assert img.dtype == np.uint16 and meta['photometric'] == 'MONOCHROME1'
    np.testing.assert_array_equal(img, 4095 - raw.astype(np.int64))
    assert (img[:, 12:] == 0).all() and img[0, 0] == 3995


def test_monochrome1_rescaled(tmp_path):
    path = str(tmp_path / 'm1.dcm')
    raw = np.array([[0, 1000], [4095, 2000]], dtype=np.uint16)
    write_dicom(path, raw, photometric='MONOCHROME1', bits_stored=12,
                RescaleSlope='2', RescaleIntercept='-100')
    img, _ = read_dicom_pixels(path)
    # top = 4095 * 2 - 100; out = top - (2 x - 100) = 2 (4095 - x)
    np.testing.assert_array_equal(img, [[8190, 6190], [0, 4190]])


def test_voi_window(tmp_path):
    path = str(tmp_path / 'w.dcm')
    raw = breast_pixels(30, 20)
    write_dicom(path, raw, WindowCenter='1600', WindowWidth='800')
    img, _ = read_dicom_pixels(path, apply_voi_lut=True)
    assert img.dtype == np.float32
    ds = pydicom.dcmread(path)
    expected = apply_voi_lut(raw.astype(np.float64), ds)
    np.testing.assert_allclose(img, expected, rtol=1e-6)
    # Linear window (PS3.3 C.11.2.1.2.1) into 0 .. 2**14 - 1, by hand.
    c, w = 1600 - 0.5, 800 - 1
    by_hand = np.clip(((raw - c) / w + 0.5) * 16383, 0, 16383)
    np.testing.assert_allclose(img, by_hand, atol=1e-2)
    assert (img[raw == 0] == 0).all()
    # Without apply_voi_lut the window is not applied.
    np.testing.assert_array_equal(read_dicom_pixels(path)[0], raw)


def test_voi_window_monochrome1(tmp_path):
    """The window applies to the stored values (as DICOM defines it),
    the MONOCHROME1 inversion after it."""
    path = str(tmp_path / 'w1.dcm')
    raw = np.array([[4095, 2500, 2000], [1500, 1000, 0]], dtype=np.uint16)
    write_dicom(path, raw, photometric='MONOCHROME1', bits_stored=12,
                WindowCenter='2000', WindowWidth='1001')
    img, _ = read_dicom_pixels(path, apply_voi_lut=True)
    windowed = np.clip(((raw - 1999.5) / 1000 + 0.5) * 4095, 0, 4095)
    np.testing.assert_allclose(img, 4095 - windowed, atol=1e-3)
    assert img[0, 0] == 0 and img[1, 2] == 4095  # black stays black


def test_voi_lut_sequence(tmp_path):
    from pydicom.dataset import Dataset
    path = str(tmp_path / 'lut.dcm')
    raw = np.array([[0, 100], [4000, 4095]], dtype=np.uint16)
    item = Dataset()
    item.LUTDescriptor = [4096, 0, 12]  # 4096 entries from 0, 12 bits
    item.LUTData = (np.arange(4096) // 2).astype('<u2').tobytes()
    # MONOCHROME1: the LUT output (0 .. 4095) is inverted after the LUT.
    for photometric, expected in (
            ('MONOCHROME2', [[0, 50], [2000, 2047]]),
            ('MONOCHROME1', [[4095, 4045], [2095, 2048]])):
        write_dicom(path, raw, photometric=photometric, bits_stored=12,
                    VOILUTSequence=[item])
        img, _ = read_dicom_pixels(path, apply_voi_lut=True)
        np.testing.assert_array_equal(img, expected)


# ----------------------------------------------------------------- cache
def test_cache_dir(synthetic_release, tmp_path):
    _, images = synthetic_release
    im = images[0]
    raw = pydicom.dcmread(im.dicom_path).pixel_array
    cached = raw + 1  # different content, to see which was read
    np.save(tmp_path / f'{im.file_name}.npy', cached)
    t = LoadDicomImage(cache_dir=str(tmp_path))
    out = t(dict(img_path=im.dicom_path, file_name=im.file_name))
    assert isinstance(out['img'], np.memmap)
    np.testing.assert_array_equal(out['img'], cached)
    assert out['dicom_meta']['transfer_syntax'] == 'cache'
    assert out['img_shape'] == raw.shape and out['scale_factor'] == (1., 1.)
    # No cached file: the DICOM is decoded.
    other = images[1]
    out = t(dict(img_path=other.dicom_path, file_name=other.file_name))
    assert not isinstance(out['img'], np.memmap)
    np.testing.assert_array_equal(
        out['img'], pydicom.dcmread(other.dicom_path).pixel_array)
    # The cache holds raw pixels: a VOI LUT needs the DICOM.
    out = LoadDicomImage(cache_dir=str(tmp_path), apply_voi_lut=True)(
        dict(img_path=im.dicom_path, file_name=im.file_name))
    assert out['dicom_meta']['transfer_syntax'] != 'cache'


def test_repr():
    assert repr(LoadDicomImage(cache_dir='/c')) == (
        "LoadDicomImage(apply_voi_lut=False, to_float32=False, "
        "cache_dir='/c', lazy_rows=False)")
    assert repr(LoadDicomImage(apply_voi_lut=True, to_float32=True)) == (
        'LoadDicomImage(apply_voi_lut=True, to_float32=True, cache_dir=None, '
        'lazy_rows=False)')


# --------------------------------------------------------- compressed data
def _transfer_syntax(path):
    return pydicom.dcmread(path, stop_before_pixels=True).file_meta.\
        TransferSyntaxUID


@pytest.mark.parametrize('name', [
    'JPEG2000.dcm', 'MR_small_jp2klossless.dcm', 'JPEG-lossy.dcm',
    'MR_small_jpeg_ls_lossless.dcm', 'JPEGLSNearLossless_16.dcm',
    'MR_small_RLE.dcm'
])
def test_compressed(name):
    """Decoded when an installed plugin decodes the file; otherwise a
    RuntimeError with the path and the packages to install. (In this
    environment Pillow decodes JPEG 2000 but not 12-bit JPEG; nothing
    decodes JPEG-LS.)"""
    path = pydicom_file(name)
    decoder = get_decoder(_transfer_syntax(path))
    try:
        expected = pydicom.dcmread(path).pixel_array
    except Exception:
        expected = None
    if expected is None:
        with pytest.raises(RuntimeError) as e:
            read_dicom_pixels(path)
        msg = str(e.value)
        assert msg.startswith(path + ': pixel data are compressed with ')
        assert 'pylibjpeg' in msg and 'gdcm' in msg
        if decoder.is_available:
            plugins = ', '.join(decoder.available_plugins)
            assert f'the installed decoder(s) ({plugins}) failed' in msg
        else:
            assert 'no decoder installed' in msg
    else:
        img, _ = read_dicom_pixels(path)
        np.testing.assert_array_equal(img, expected)
    if name in ('MR_small_jp2klossless.dcm', 'MR_small_RLE.dcm') and \
            expected is not None:
        # Lossless: the same pixels as the uncompressed MR_small.dcm.
        np.testing.assert_array_equal(
            img, read_dicom_pixels(pydicom_file('MR_small.dcm'))[0])


def test_compressed_without_any_decoder(monkeypatch):
    """With no plugin for JPEG 2000 (as on a machine without Pillow's
    OpenJPEG, pylibjpeg and gdcm), the error names what to install."""
    path = pydicom_file('MR_small_jp2klossless.dcm')
    decoder = get_decoder(_transfer_syntax(path))
    monkeypatch.setattr(decoder, '_available', {})
    with pytest.raises(RuntimeError) as e:
        load(path)
    msg = str(e.value)
    assert msg.startswith(
        path + ': pixel data are compressed with JPEG 2000 Image Compression '
        '(Lossless Only): no decoder installed (')
    assert 'pip install pylibjpeg' in msg and 'python-gdcm' in msg


# ------------------------------------------------------- not a mammogram
@pytest.mark.parametrize('name, fragment', [
    ('SC_rgb_small_odd.dcm', '3-sample RGB image'),
    ('examples_ybr_color.dcm', '3-sample YBR_FULL_422 image'),
    ('examples_palette.dcm', '1-sample PALETTE COLOR image'),
    ('rtdose.dcm', '15 frames (3-D or multi-frame data'),
    ('rtplan.dcm', 'no pixel data (SOP class 1.2.840.10008.5.1.4.1.1.481.5'),
    ('test-SR.dcm', 'no pixel data (SOP class 1.2.840.10008.5.1.4.1.1.88.33'),
    ('MR_truncated.dcm', 'the file is truncated or damaged, copy it again'),
    ('no_meta.dcm', 'not a DICOM file'),
    ('badVR.dcm', "NumberOfFrames = '1A' is not an integer"),
    ('rtdose_1frame.dcm', 'BitsAllocated=32, BitsStored=32'),
    ('liver_1frame.dcm', 'BitsAllocated=1, BitsStored=1'),
])
def test_pydicom_files_refused(name, fragment):
    path = pydicom_file(name)
    with pytest.raises(ValueError) as e:
        load(path)
    assert str(e.value).startswith(path + ': ')
    assert fragment in str(e.value)


def test_handmade_bad_files(tmp_path):
    path = str(tmp_path / '3d.dcm')
    write_dicom(path, np.stack([breast_pixels(10, 8)] * 4))
    with pytest.raises(ValueError, match='4 frames') as e:
        load(path)
    assert path in str(e.value)
    path = str(tmp_path / 'cut.dcm')
    write_dicom(path, breast_pixels(100, 80))
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:-2000])
    with pytest.raises(ValueError, match='truncated') as e:
        load(path)
    assert path in str(e.value)
    with pytest.raises(FileNotFoundError, match='DICOM file not found'):
        load(str(tmp_path / 'missing.dcm'))
    path = str(tmp_path / 'text.dcm')
    shutil.copy(osp.join(PYDICOM_FILES, 'README.txt'), path) if osp.isfile(
        osp.join(PYDICOM_FILES, 'README.txt')) else open(path, 'w').write('x')
    with pytest.raises(ValueError, match='not a DICOM file') as e:
        load(path)
    assert path in str(e.value)


def test_monochrome1_signed(tmp_path):
    """Signed MONOCHROME1: the top of the range is 2**(BitsStored-1) - 1."""
    path = str(tmp_path / 's.dcm')
    raw = np.array([[2047, 0], [-2048, 1000]], dtype=np.int16)
    write_dicom(path, raw, photometric='MONOCHROME1', bits_stored=12)
    img, _ = read_dicom_pixels(path)
    assert img.dtype == np.float32
    np.testing.assert_array_equal(img, [[0, 2047], [4095, 1047]])
