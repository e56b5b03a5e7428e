"""Readers of the release (mmdet_inbreast.datasets.inbreast_release): CSV,
OsiriX XML, lesion names, DICOM names, DICOM headers, split files,
scan_release and its report."""
import os
import os.path as osp
import shutil

import numpy as np
import pydicom
import pytest
from conftest import (CSV_HEADER, P1, P2, box_of, breast_pixels, lobulated,
                      osirix_xml, write_csv, write_dicom)

from mmdet_inbreast.datasets.dicom import (DecoderError, DicomError,
                                           read_dicom_size)
from mmdet_inbreast.datasets.inbreast_release import (
    LESION_NAMES, ReleaseError, format_report, lesion_type, list_dicoms,
    normalize_lesion_name, parse_dicom_name, read_csv, read_xml,
    scan_release)
from mmdet_inbreast.datasets.splits import read_split_file

PYDICOM_FILES = osp.join(osp.dirname(pydicom.data.__file__), 'test_files')


def pydicom_file(name):
    path = osp.join(PYDICOM_FILES, name)
    if not osp.isfile(path):  # never download (get_testdata_file would)
        pytest.skip(f'{name} is not bundled with this pydicom')
    return path


# --------------------------------------------------------------------- CSV
def test_read_csv_quirks(tmp_path):
    path = str(tmp_path / 'INbreast.csv')
    # Stray spaces around values and header names, MLO, blank lines in the
    # middle and at the end, a row of bare separators, CRLF, a BOM.
    with open(path, 'w', newline='', encoding='utf-8-sig') as f:
        f.write(' Patient ID ;Patient age; Laterality;View;Acquisition date;'
                'File Name ;ACR;Bi-Rads \r\n'
                'removed;removed;R;CC;201001; 22678622 ; 4 ;1\r\n'
                '\r\n'
                'removed;removed; l ;MLO;201001;22678646;;4a \r\n'
                'removed;removed;L;CC;201001;50994408;2;4C\r\n'
                ';;;;;;;\r\n\r\n  \r\n')
    rows = read_csv(path)
    assert list(rows) == ['22678622', '22678646', '50994408']
    a, b, c = rows.values()
    assert (a.laterality, a.view, a.acr, a.birads, a.birads_category,
            a.line) == ('R', 'CC', 4, '1', 1, 2)
    assert (b.laterality, b.view, b.acr, b.birads, b.birads_category,
            b.line) == ('L', 'MLO', None, '4a', 4, 4)
    assert (c.birads, c.birads_category) == ('4C', 4)


def test_read_csv_errors(tmp_path):
    path = str(tmp_path / 'INbreast.csv')
    with pytest.raises(FileNotFoundError, match='INbreast.csv not found'):
        read_csv(path)
    with open(path, 'w') as f:
        f.write('Patient ID,Laterality,View,File Name,ACR,Bi-Rads\n'
                'x,R,CC,22678622,1,1\n')
    with pytest.raises(ReleaseError, match=r"lacks column.*';'-separated"):
        read_csv(path)
    write_csv(path, ['removed;removed;R;CC;2010;2267862;1;1'])
    with pytest.raises(ReleaseError, match=r":2: File Name '2267862' is not "
                       'an 8-digit'):
        read_csv(path)
    with open(path, 'w') as f:
        f.write('\n\n;;;\n')
    with pytest.raises(ReleaseError, match='the CSV is empty'):
        read_csv(path)


def test_read_csv_duplicate_key(tmp_path):
    path = str(tmp_path / 'INbreast.csv')
    write_csv(path, ['removed;removed;R;CC;2010;22678622;1;1',
                     'removed;removed;R;MLO;2010;22678646;1;1',
                     'removed;removed;R;CC;2010;22678622;1;2'])
    with pytest.raises(ReleaseError) as e:
        read_csv(path)
    assert path in str(e.value)
    assert 'duplicate File Name 22678622 (first on line 2)' in str(e.value)
    assert 'remove one of the two rows' in str(e.value)
    dups = {}
    rows = read_csv(path, duplicates=dups)
    assert list(rows) == ['22678646']
    assert list(dups) == ['22678622']
    assert 'lines [2, 4]' in dups['22678622'] and path in dups['22678622']


# ------------------------------------------------------------ lesion names
@pytest.mark.parametrize('name, expected', [
    ('Mass', 'mass'), (' MASS ', 'mass'), ('mass ', 'mass'),
    ('Calcification', 'calcification'), ('Calcifications', 'calcification'),
    (' calcifications ', 'calcification'), ('Cluster', 'cluster'),
    ('Spiculated Region', 'spiculated region'),
    ('Espiculated  Region', 'spiculated region'),
    ('Assymetry', 'asymmetry'), ('Asymmetry', 'asymmetry'),
    ('Distortion', 'distortion'), ('Pectoral Muscle', 'pectoral muscle'),
    ('Nodule', None), ('', None), ('Mass2', None),
])
def test_lesion_type(name, expected):
    assert lesion_type(name) == expected


def test_normalize_lesion_name():
    assert normalize_lesion_name('  Espiculated \t Region ') == \
        'espiculated region'
    # Every spelling in the table is already normalised.
    assert all(normalize_lesion_name(k) == k for k in LESION_NAMES)
    # Every canonical type is a known spelling of itself, so configs may
    # name classes by their canonical type.
    assert all(lesion_type(v) == v for v in LESION_NAMES.values())


# ------------------------------------------------------------- DICOM names
def test_parse_dicom_name():
    p = parse_dicom_name('/x/22579730_BBD6A3A35438C11B_MG_R_ML_ANON.dcm')
    assert (p.file_name, p.patient_id, p.laterality, p.view) == (
        '22579730', 'bbd6a3a35438c11b', 'R', 'ML')
    assert p.path == '/x/22579730_BBD6A3A35438C11B_MG_R_ML_ANON.dcm'
    assert parse_dicom_name('22579730_bbd6a3a35438c11b_mg_l_cc_anon.dcm'
                            ).view == 'CC'
    for bad in ('2257973_bbd6a3a35438c11b_MG_R_ML_ANON.dcm',
                '22579730_bbd6a3a35438c11_MG_R_ML_ANON.dcm',
                '22579730_bbd6a3a35438c11b_MG_X_ML_ANON.dcm',
                '22579730_bbd6a3a35438c11b_MG_R_XX_ANON.dcm',
                '22579730.dcm'):
        assert parse_dicom_name(bad) is None, bad


def test_list_dicoms(tmp_path):
    folder = tmp_path / 'AllDICOMs'
    folder.mkdir()
    names = [f'22678622_{P1}_MG_R_CC_ANON.dcm',
             f'22678646_{P1}_MG_R_ML_ANON.dcm', 'IMG0001.dcm', 'notes.txt']
    for n in names:
        (folder / n).write_bytes(b'')
    found, odd = list_dicoms(str(folder))
    assert sorted(found) == ['22678622', '22678646']
    assert odd == ['IMG0001.dcm']
    assert found['22678646'].path == str(folder / names[1])
    # The same key under another patient hash: a copy.
    (folder / f'22678622_{P2}_MG_R_CC_ANON.dcm').write_bytes(b'')
    with pytest.raises(ReleaseError, match='duplicate image key 22678622.*'
                       'remove the copy'):
        list_dicoms(str(folder))
    dups = {}
    found, _ = list_dicoms(str(folder), duplicates=dups)
    assert sorted(found) == ['22678646'] and list(dups) == ['22678622']
    assert P1 in dups['22678622'] and P2 in dups['22678622']
    with pytest.raises(FileNotFoundError, match='AllDICOMs/ not found'):
        list_dicoms(str(tmp_path / 'nowhere'))


# --------------------------------------------------------------------- XML
def test_read_xml_osirix_text(tmp_path):
    """A hand-written OsiriX export (template text, not plistlib)."""
    mass = lobulated(40.123456, 60.654321, 13.3, 17.7, 50)
    rois = [('Mass', mass), ('Calcification', [[10.5, 12.25]]),
            ('Calcifications', [[11.0, 13.0], [12.5, 14.5]]),
            ('Nodule', lobulated(20, 20, 3, 3, 8))]
    path = str(tmp_path / '22678622.xml')
    with open(path, 'w') as f:
        f.write(osirix_xml(rois, 120, 96))
    out = read_xml(path, 120, 96)
    assert [r.name for r in out] == ['Mass', 'Calcification',
                                     'Calcifications', 'Nodule']
    assert [r.lesion for r in out] == ['mass', 'calcification',
                                       'calcification', None]
    assert [r.is_point for r in out] == [False, True, True, False]
    assert out[0].points.shape == (50, 2)
    np.testing.assert_allclose(out[0].points, mass, atol=5e-7)
    np.testing.assert_allclose(out[0].bbox, box_of(mass), atol=1e-6)
    np.testing.assert_array_equal(out[2].points, [[11.0, 13.0], [12.5, 14.5]])
    # Without the image size nothing is checked or clipped.
    assert len(read_xml(path)) == 4


def test_read_xml_point_formats(tmp_path):
    path = str(tmp_path / 'a.xml')
    text = osirix_xml([('Mass', [[1, 2], [3, 4], [5, 6]])], 50, 50)
    text = text.replace('(1.000000, 2.000000)', '( 1.5e1 ,2 )').replace(
        '(3.000000, 4.000000)', '(-0.5, 4, 0)')
    with open(path, 'w') as f:
        f.write(text)
    np.testing.assert_array_equal(read_xml(path)[0].points,
                                  [[15, 2], [-0.5, 4], [5, 6]])
    with open(path, 'w') as f:
        f.write(text.replace('(5.000000, 6.000000)', '5.0; 6.0'))
    with pytest.raises(ReleaseError) as e:
        read_xml(path)
    assert path in str(e.value)
    assert "Point_px entry '5.0; 6.0' is not '(x, y)'" in str(e.value)


def test_read_xml_points_outside_image(tmp_path):
    path = str(tmp_path / 'a.xml')
    # Up to 1 px outside: clipped to the image.
    with open(path, 'w') as f:
        f.write(osirix_xml([('Mass', [[-0.75, 3], [50.5, 9], [20, 40.9]])],
                           40, 50))
    roi, = read_xml(path, 40, 50)
    np.testing.assert_array_equal(roi.points, [[0, 3], [50, 9], [20, 40]])
    # Further out: the XML belongs to another image.
    with open(path, 'w') as f:
        f.write(osirix_xml([('Mass', [[1, 3], [2, 9], [20, 212.5]])], 40, 50))
    with pytest.raises(ReleaseError) as e:
        read_xml(path, 40, 50)
    assert path in str(e.value)
    assert 'Point_px (20, 212.5) outside the 50 x 40 (w x h) image' in str(
        e.value)


def test_read_xml_number_of_points_mismatch(tmp_path):
    path = str(tmp_path / 'a.xml')
    with open(path, 'w') as f:
        f.write(osirix_xml([('Mass', lobulated(20, 20, 5, 5, 12)),
                            ('Mass', lobulated(30, 30, 5, 5, 12))], 60, 60,
                           num_points={1: 14}))
    with pytest.raises(ReleaseError) as e:
        read_xml(path)
    assert path in str(e.value)
    assert "ROI 1 ('Mass') declares NumberOfPoints=14 but has 12" in str(
        e.value)
    assert 're-export' in str(e.value)


@pytest.mark.parametrize('text, message', [
    ('<plist version="1.0"><dict><key>Images</key><array><dict>'
     '<key>ROIs</key><array><dict><key>Name</key><string>Mass',
     r'not a readable plist XML \(ExpatError'),
    ('', 'not a readable plist XML'),
    ('<?xml version="1.0"?><annotation><object><name>mass</name></object>'
     '</annotation>', "plist has no 'Images' array"),
    ('<plist version="1.0"><dict><key>ROIs</key><array/></dict></plist>',
     "plist has no 'Images' array \\(top-level keys: \\['ROIs'\\]"),
    ('<plist version="1.0"><array/></plist>', "plist has no 'Images' array"),
    ('<plist version="1.0"><dict><key>Images</key><array><string>x</string>'
     '</array></dict></plist>', "an 'Images' entry is str"),
    ('<plist version="1.0"><dict><key>Images</key><array><dict><key>ROIs'
     '</key><array><string>x</string></array></dict></array></dict>'
     '</plist>', 'ROI 0 is str'),
    ('<plist version="1.0"><dict><key>Images</key><array><dict><key>ROIs'
     '</key><array><dict><key>Name</key><string>Mass</string><key>'
     'NumberOfPoints</key><string>3</string></dict></array></dict></array>'
     '</dict></plist>', "NumberOfPoints '3', not an <integer>"),
    ('<plist version="1.0"><dict><key>Images</key><array><dict><key>ROIs'
     '</key><array><dict><key>Name</key><string>Mass</string><key>'
     'Point_px</key><string>(1, 2)</string></dict></array></dict></array>'
     '</dict></plist>', 'has Point_px .* not an array'),
])
def test_read_xml_malformed(tmp_path, text, message):
    path = str(tmp_path / '22678622.xml')
    with open(path, 'w') as f:
        f.write(text)
    with pytest.raises(ReleaseError, match=message) as e:
        read_xml(path, 100, 100)
    assert str(e.value).startswith(path + ': ')


BILLION_LAUGHS = '''<?xml version="1.0"?>
<!DOCTYPE plist [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<plist version="1.0"><dict><key>Images</key><array><dict><key>ROIs</key>
<array><dict><key>Name</key><string>&lol9;</string></dict></array></dict>
</array></dict></plist>
'''


@pytest.mark.parametrize('text', [
    BILLION_LAUGHS,
    # lower case and an external entity: refused all the same
    BILLION_LAUGHS.replace('<!ENTITY lol "lol">',
                           '<!entity lol SYSTEM "file:///etc/passwd">'),
])
def test_read_xml_refuses_entities(tmp_path, text):
    path = str(tmp_path / 'laughs.xml')
    with open(path, 'w') as f:
        f.write(text)
    with pytest.raises(ReleaseError, match='declares entities') as e:
        read_xml(path)
    assert path in str(e.value) and 're-export' in str(e.value)


# ------------------------------------------------------------ DICOM header
def test_read_dicom_size_handmade(tmp_path):
    path = str(tmp_path / 'a.dcm')
    write_dicom(path, breast_pixels(70, 45))
    assert read_dicom_size(path) == (70, 45)
    # Other modalities only when allowed explicitly.
    assert read_dicom_size(pydicom_file('CT_small.dcm'), None) == (128, 128)
    assert read_dicom_size(pydicom_file('MR_small_bigendian.dcm'),
                           ['mr']) == (64, 64)
    assert read_dicom_size(pydicom_file('image_dfl.dcm'), None) == (512, 512)


def _truncate(src, dst, keep):
    with open(src, 'rb') as f:
        data = f.read()
    with open(dst, 'wb') as f:
        f.write(data[:keep if keep > 0 else len(data) + keep])
    return dst


def test_read_dicom_size_truncated(tmp_path):
    src = str(tmp_path / 'full.dcm')
    write_dicom(src, breast_pixels(300, 200))  # 120,000 pixel bytes
    # Cut inside the pixel data: the header still reads, the length not.
    path = _truncate(src, str(tmp_path / 'cut.dcm'), -5000)
    with pytest.raises(DicomError) as e:
        read_dicom_size(path)
    assert str(e.value).startswith(path + ': pixel data hold 115000 bytes '
                                   'but Rows x Columns x BitsAllocated '
                                   '(300 x 200 x 16 bits) need 120000')
    assert 'truncated' in str(e.value)
    # Cut inside the header.
    path = _truncate(src, str(tmp_path / 'head.dcm'), 200)
    with pytest.raises(DicomError, match='truncated') as e:
        read_dicom_size(path)
    assert path in str(e.value)
    # pydicom's own truncated test file.
    path = pydicom_file('MR_truncated.dcm')
    with pytest.raises(DicomError, match='need 8192') as e:
        read_dicom_size(path, None)
    assert path in str(e.value)


@pytest.mark.parametrize('name, message', [
    ('rtplan.dcm', r'no pixel data \(SOP class 1.2.840.10008.5.1.4.1.1.481.5'),
    ('test-SR.dcm', 'no pixel data'),
    ('rtdose.dcm', '15 frames'),
    ('rtdose_1frame.dcm', 'BitsAllocated=32, BitsStored=32'),
    ('liver_1frame.dcm', 'BitsAllocated=1'),
    ('SC_rgb_small_odd.dcm', '3-sample RGB image'),
    ('examples_palette.dcm', '1-sample PALETTE COLOR'),
    ('badVR.dcm', "NumberOfFrames = '1A' is not an integer"),
    ('no_meta.dcm', 'not a DICOM file'),
])
def test_read_dicom_size_not_a_mammogram(name, message):
    """Refused for what they are even with every modality allowed."""
    path = pydicom_file(name)
    with pytest.raises(DicomError, match=message) as e:
        read_dicom_size(path, None)
    assert str(e.value).startswith(path + ': ')


def test_read_dicom_size_compressed_without_decoder():
    from pydicom.pixels import get_decoder
    path = pydicom_file('MR_small_jpeg_ls_lossless.dcm')
    ts = pydicom.dcmread(path, stop_before_pixels=True).file_meta.\
        TransferSyntaxUID
    if get_decoder(ts).is_available:
        assert read_dicom_size(path, None) == (64, 64)
        return
    with pytest.raises(DecoderError) as e:
        read_dicom_size(path, None)
    msg = str(e.value)
    assert msg.startswith(path + ': pixel data are compressed with JPEG-LS '
                          'Lossless Image Compression: no decoder installed')
    assert 'pylibjpeg' in msg and 'gdcm' in msg and 'pip install' in msg


# ------------------------------------------------------------- split files
def test_read_split_file(tmp_path):
    path = tmp_path / 'train.txt'
    path.write_text('# split_patients.py seed=0\n22678622\n\n 22678646  # '
                    'comment\n50994408\n')
    assert read_split_file(str(path)) == ['22678622', '22678646', '50994408']
    path.write_text('# nothing here\n\n')
    with pytest.raises(ReleaseError, match='the split lists no images; '
                       'write it with tools/split_patients.py'):
        read_split_file(str(path))
    path.write_text('22678622\n22678622\n')
    with pytest.raises(ReleaseError,
                       match=':2: 8-digit image key 22678622 repeats'):
        read_split_file(str(path))
    path.write_text('22678622\n22678622.dcm\n')
    with pytest.raises(ReleaseError, match=":2: '22678622.dcm' is not an "
                       '8-digit'):
        read_split_file(str(path))
    with pytest.raises(FileNotFoundError, match='split file not found'):
        read_split_file(str(tmp_path / 'val.txt'))


# ------------------------------------------------------------ scan_release
def test_scan_release_handmade(handmade_release):
    h = handmade_release
    records, report = scan_release(h.root)
    assert [r.file_name for r in records] == h.keys
    for r in records:
        assert r.patient_id == h.patients[r.file_name]
        assert (r.height, r.width) == h.sizes[r.file_name]
        assert r.laterality == h.lateralities[r.file_name]
        assert r.view == h.views[r.file_name]
        assert r.birads == h.birads[r.file_name]
        assert r.acr == h.acr[r.file_name]
        assert r.img_path == h.dicom_paths[r.file_name]
        assert [t for _, t in r.boxes] == ['mass'] * len(h.masses(r.file_name))
        np.testing.assert_allclose(
            np.reshape([b for b, _ in r.boxes], (-1, 4)),
            np.reshape(h.masses(r.file_name), (-1, 4)), atol=1e-3)
    assert records[1].birads_category == 4  # '4a'
    assert report.listed == 5 and report.skipped == {}
    assert report.unknown_names == {'nodule': 1}
    assert report.unknown_name_files == {'nodule': [h.xml_path('22678622')]}
    # Polygons of other types; the 1-2 point ROIs are counted as points,
    # requested or not.
    assert report.other_lesions == {'spiculated region': 2, 'asymmetry': 1,
                                    'cluster': 1}
    assert report.point_rois == {'calcification': 2}
    # Calcifications requested: their point ROIs stay points, no boxes,
    # and their image is kept (calcifications are points by design).
    records, report = scan_release(h.root, ('mass', 'calcification'))
    assert report.point_rois == {'calcification': 2}
    assert len(records) == 5
    assert not any(t == 'calcification' for r in records for _, t in r.boxes)
    with pytest.raises(ValueError, match=r"lesion types \['Mass'\] are not "
                       'in the name table'):
        scan_release(h.root, ('Mass', ))


def test_scan_release_orphans(handmade_release):
    h = handmade_release
    # An XML without a CSV row, a DICOM without a CSV row, a CSV row
    # without a DICOM, a DICOM whose name is not the release's pattern.
    with open(h.xml_path('99999999'), 'w') as f:
        f.write(osirix_xml([('Mass', lobulated(20, 20, 5, 5))], 60, 60))
    write_dicom(osp.join(h.root, 'AllDICOMs',
                         f'88888888_{P2}_MG_R_CC_ANON.dcm'),
                breast_pixels(20, 20))
    write_dicom(osp.join(h.root, 'AllDICOMs', 'IMG0001.dcm'),
                breast_pixels(20, 20))
    os.remove(h.dicom_paths['22678670'])
    records, report = scan_release(h.root)
    assert [r.file_name for r in records] == [
        k for k in h.keys if k != '22678670']
    assert report.xml_without_csv == ['99999999']
    assert report.dicom_without_csv == ['88888888']
    assert report.skipped == {
        'DICOM name not <key>_<hash>_MG_<L|R>_<view>_ANON.dcm':
        ['IMG0001.dcm'],
        'CSV row without DICOM': ['22678670']}
    text = format_report(records, report)
    assert text.splitlines()[0] == (
        '5 images listed, 4 read, 1 negative, 2 skipped (1 DICOM name not '
        '<key>_<hash>_MG_<L|R>_<view>_ANON.dcm: IMG0001.dcm; 1 CSV row '
        'without DICOM: 22678670), 4 masses, 2 patients, 2 point ROIs '
        "(2 calcification), 1 unknown ROI names ('nodule' x1)")
    assert text.splitlines()[1] == (
        "unknown ROI name 'nodule' (not used) in 1 file(s): "
        f"{h.xml_path('22678622')}")
    assert "1 XML without CSV row: ['99999999']" in text
    assert "1 DICOM without CSV row: ['88888888']" in text


def test_scan_release_keys(handmade_release):
    h = handmade_release
    records, report = scan_release(h.root, keys=['50994432', '22678646'])
    assert [r.file_name for r in records] == ['50994432', '22678646']
    assert report.listed == 2
    with pytest.raises(ReleaseError, match=r"not in the CSV: \['12345678'\]"):
        scan_release(h.root, keys=['22678646', '12345678'])


def test_scan_release_duplicates(handmade_release):
    h = handmade_release
    # A second row for 22678646, a copy of 50994408's DICOM under P1.
    with open(osp.join(h.root, 'INbreast.csv'), 'a') as f:
        f.write('removed;removed;R;MLO;2008;22678646;4;4b\r\n')
    shutil.copy(h.dicom_paths['50994408'],
                osp.join(h.root, 'AllDICOMs',
                         f'50994408_{P1}_MG_L_ML_ANON.dcm'))
    records, report = scan_release(h.root)
    assert [r.file_name for r in records] == ['22678622', '22678670',
                                              '50994432']
    assert report.skipped == {'duplicate DICOM key': ['50994408'],
                              'duplicate CSV row': ['22678646']}
    assert 'lines [3, 11]' in report.errors['22678646']
    assert f'50994408_{P1}_MG_L_ML_ANON.dcm' in report.errors['50994408']
    with pytest.raises(ReleaseError, match='duplicate'):
        scan_release(h.root, strict=True)


def test_scan_release_handmade_csv_header_only(tmp_path):
    root = tmp_path / 'r'
    (root / 'AllDICOMs').mkdir(parents=True)
    (root / 'INbreast.csv').write_text(CSV_HEADER + '\n')
    records, report = scan_release(str(root))
    assert records == [] and report.listed == 0
    assert format_report(records, report) == (
        '0 images listed, 0 read, 0 negative, 0 skipped, 0 masses, '
        '0 patients, 0 point ROIs, 0 unknown ROI names')
