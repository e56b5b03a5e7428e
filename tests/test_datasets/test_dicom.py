"""The one DICOM reader (mmdet_inbreast.datasets.dicom): header checks at
the door and decoding of compressed files through the installed pydicom
plugins, against pydicom's reference values and uncompressed twins."""
import os.path as osp

import numpy as np
import pydicom
import pytest
from conftest import breast_pixels, write_dicom
from pydicom.pixels import get_decoder, get_encoder
from pydicom.uid import (JPEG2000Lossless, JPEGLSLossless, RLELossless,
                         ExplicitVRLittleEndian)

from mmdet_inbreast.datasets.dicom import (DecoderError, DicomError,
                                           ModalityError, decoder_package,
                                           read_dicom_header,
                                           read_dicom_pixels)
from mmdet_inbreast.utils.errors import InputError

PYDICOM_FILES = osp.join(osp.dirname(pydicom.data.__file__), 'test_files')


def pydicom_file(name):
    path = osp.join(PYDICOM_FILES, name)
    if not osp.isfile(path):  # never download
        pytest.skip(f'{name} is not bundled with this pydicom')
    return path


def needs_decoder(path):
    ts = pydicom.dcmread(path, stop_before_pixels=True).file_meta.\
        TransferSyntaxUID
    if not get_decoder(ts).is_available:
        pytest.skip(f'no decoder for {ts.name} installed '
                    f'(pip install {decoder_package(ts)})')


# ------------------------------------------------------------- decoding
@pytest.mark.parametrize('name', [
    'MR_small_RLE.dcm', 'MR_small_jpeg_ls_lossless.dcm',
    'MR_small_jp2klossless.dcm'
])
def test_lossless_files_equal_their_uncompressed_twin(name):
    """RLE, JPEG-LS and JPEG 2000 lossless copies of MR_small.dcm decode
    to exactly its pixels."""
    path = pydicom_file(name)
    needs_decoder(path)
    img, meta = read_dicom_pixels(path)
    ref, ref_meta = read_dicom_pixels(pydicom_file('MR_small.dcm'))
    assert ref_meta['transfer_syntax'] == 'Explicit VR Little Endian'
    assert meta['transfer_syntax'] != ref_meta['transfer_syntax']
    assert img.shape == (64, 64)
    np.testing.assert_array_equal(img, ref)
    raw = pydicom.dcmread(pydicom_file('MR_small.dcm')).pixel_array
    np.testing.assert_array_equal(img, raw.astype(np.float32))


def test_12bit_jpeg_extended_reference_values():
    """JPGExtended.dcm (12-bit JPEG, Process 2/4): pydicom's reference
    values arr[420, 140] = 244 and arr[230, 120] = 95."""
    path = pydicom_file('JPGExtended.dcm')
    needs_decoder(path)
    img, meta = read_dicom_pixels(path)
    assert img.dtype == np.uint16 and img.shape == (1024, 256)
    assert meta['bits_stored'] == 12
    assert img[420, 140] == 244 and img[230, 120] == 95
    # The JPEG 2000 encoding of the same image, decoded by another library
    # (OpenJPEG, not libjpeg), agrees with it.
    j2k = pydicom_file('JPEG2000.dcm')
    needs_decoder(j2k)
    other, _ = read_dicom_pixels(j2k)
    assert other.shape == img.shape
    assert np.corrcoef(img.ravel().astype(float),
                       other.ravel().astype(float))[0, 1] > 0.9


@pytest.mark.parametrize('syntax', [RLELossless, JPEG2000Lossless,
                                    JPEGLSLossless])
def test_compressed_mammogram_round_trip(tmp_path, syntax):
    """A 14-bit mammogram compressed losslessly decodes to its pixels, and
    passes the door (decoded once at scan time)."""
    if not get_encoder(syntax).is_available:
        pytest.skip(f'no {syntax.name} encoder installed')
    pixels = breast_pixels(60, 48, seed=5)
    path = str(tmp_path / 'a.dcm')
    write_dicom(path, pixels, transfer_syntax=ExplicitVRLittleEndian)
    ds = pydicom.dcmread(path)
    ds.compress(syntax)
    ds.save_as(path)
    header = read_dicom_header(path)
    assert (header.rows, header.columns) == (60, 48)
    assert header.transfer_syntax == syntax
    img, meta = read_dicom_pixels(path)
    assert img.dtype == np.uint16 and meta['transfer_syntax'] == syntax.name
    np.testing.assert_array_equal(img, pixels)


def test_undecodable_stream_refused_at_the_door(tmp_path):
    """JPEG-lossy.dcm is a 12-bit JPEG that libjpeg refuses: the header
    check decodes it once and names the package that decodes it."""
    src = pydicom_file('JPEG-lossy.dcm')
    ds = pydicom.dcmread(src)
    try:
        ds.pixel_array
        pytest.skip('an installed decoder decodes JPEG-lossy.dcm')
    except Exception:
        pass
    ds.Modality = 'MG'
    path = str(tmp_path / 'lossy.dcm')
    ds.save_as(path)
    with pytest.raises(DecoderError) as e:
        read_dicom_header(path)
    msg = str(e.value)
    assert msg.startswith(path + ': pixel data are compressed with JPEG '
                          'Extended (Process 2 and 4): the installed '
                          'decoder(s) (')
    assert 'pip install python-gdcm' in msg
    assert isinstance(e.value, InputError) and isinstance(e.value,
                                                          RuntimeError)
    # Without decoding, the header alone passes.
    assert read_dicom_header(path, decode=False).rows == 1024


def test_missing_decoder_names_its_package(tmp_path, monkeypatch):
    path = pydicom_file('MR_small_jp2klossless.dcm')
    ts = pydicom.dcmread(path, stop_before_pixels=True).file_meta.\
        TransferSyntaxUID
    monkeypatch.setattr(get_decoder(ts), '_available', {})
    with pytest.raises(DecoderError) as e:
        read_dicom_header(path, None)
    assert str(e.value).startswith(
        path + ': pixel data are compressed with JPEG 2000 Image '
        'Compression (Lossless Only): no decoder installed')
    assert 'pip install pylibjpeg pylibjpeg-openjpeg' in str(e.value)


@pytest.mark.parametrize('syntax, package', [
    (JPEG2000Lossless, 'pylibjpeg pylibjpeg-openjpeg'),
    (JPEGLSLossless, 'pylibjpeg pylibjpeg-libjpeg (or pyjpegls)'),
    (RLELossless, 'pylibjpeg pylibjpeg-rle'),
    (pydicom.uid.JPEGExtended12Bit, 'pylibjpeg pylibjpeg-libjpeg'),
])
def test_decoder_package(syntax, package):
    assert decoder_package(syntax) == package


# --------------------------------------------------------- header checks
def test_modality(tmp_path):
    path = str(tmp_path / 'ct.dcm')
    write_dicom(path, breast_pixels(30, 20), Modality='CT')
    with pytest.raises(ModalityError) as e:
        read_dicom_header(path)
    assert str(e.value).startswith(
        f"{path}: Modality 'CT' (Digital Mammography X-Ray Image Storage - "
        'For Presentation) is not a mammogram (accepted: MG)')
    assert read_dicom_header(path, ('MG', 'ct')).modality == 'CT'
    assert read_dicom_header(path, None).rows == 30
    del_path = str(tmp_path / 'none.dcm')
    write_dicom(del_path, breast_pixels(30, 20))
    ds = pydicom.dcmread(del_path)
    del ds.Modality
    ds.save_as(del_path)
    with pytest.raises(ModalityError, match='Modality missing'):
        read_dicom_header(del_path)
    assert read_dicom_header(del_path, None).modality == ''


@pytest.mark.parametrize('change, fragment', [
    (dict(NumberOfFrames=2), '2 frames (3-D or multi-frame data'),
    (dict(SamplesPerPixel=3), '3-sample MONOCHROME2 image'),
    (dict(PhotometricInterpretation='PALETTE COLOR'),
     '1-sample PALETTE COLOR image'),
    (dict(PhotometricInterpretation='RGB'), '1-sample RGB image'),
    (dict(BitsAllocated=32), 'BitsAllocated=32'),
])
def test_not_one_grayscale_frame(tmp_path, change, fragment):
    path = str(tmp_path / 'a.dcm')
    write_dicom(path, breast_pixels(30, 20), **change)
    with pytest.raises(DicomError) as e:
        read_dicom_header(path)
    assert str(e.value).startswith(path + ': ') and fragment in str(e.value)


@pytest.mark.parametrize('delta', [-2, -600, 2, 4, 1200])
def test_pixel_data_length(tmp_path, delta):
    """A pixel buffer shorter or longer than Rows x Columns x 2 (a
    consistent file, only the element is wrong) is refused from the header
    alone; the pixels are not loaded."""
    path = str(tmp_path / 'a.dcm')
    write_dicom(path, breast_pixels(30, 20))
    ds = pydicom.dcmread(path)
    data = ds.PixelData
    ds.PixelData = data[:delta] if delta < 0 else data + b'\0' * delta
    ds.save_as(path)
    with pytest.raises(DicomError) as e:
        read_dicom_header(path)
    have = 1200 + delta
    assert str(e.value).startswith(
        f'{path}: pixel data hold {have} bytes but Rows x Columns x '
        'BitsAllocated (30 x 20 x 16 bits) need 1200')


def test_odd_length_padding_accepted(tmp_path):
    """8-bit data of odd length carry one pad byte: not an error."""
    path = str(tmp_path / 'a.dcm')
    px = (breast_pixels(5, 3) // 16).astype(np.uint8)  # 15 bytes
    write_dicom(path, px, bits_stored=8)
    assert len(pydicom.dcmread(path).PixelData) in (15, 16)
    assert read_dicom_header(path).rows == 5
    np.testing.assert_array_equal(read_dicom_pixels(path)[0], px)
