"""The plain records of a scan: the summary line, the split-file reader,
the split's keys against the release, and the shared image fields."""
import dataclasses

import pytest

from mmdet_inbreast.datasets.inbreast_release import ImageRecord, ReleaseError
from mmdet_inbreast.datasets.inbreast_release import \
    ScanReport as INbreastScanReport
from mmdet_inbreast.datasets.records import (ImageInfo, MammoRecord,
                                             ScanReport, check_split_keys,
                                             format_summary, read_key_file)
from mmdet_inbreast.utils.errors import InputError


def record(key, patient):
    return MammoRecord(
        file_name=key, patient_id=patient, img_path=f'/x/{key}.dcm',
        height=100, width=80, laterality='L', view='CC', birads='2',
        birads_category=2, density='B', img_id=int(key))


def test_format_summary_caps_problem_lines():
    report = ScanReport(listed=1)
    for i in range(25):
        report.problem(f'f.csv:{i}: bad')
    text = format_summary([record('1', 'p')], report, ('mass', ),
                          max_problems=3)
    assert text.splitlines()[1:] == [
        'f.csv:0: bad', 'f.csv:1: bad', 'f.csv:2: bad',
        '... and 22 more problems (dataset.scan_report.problems lists all)']


def test_read_key_file(tmp_path):
    path = tmp_path / 's.txt'
    path.write_text('# header\nab12\n\ncd34  # note\n')
    assert read_key_file(str(path)) == ['ab12', 'cd34']
    path.write_text('ab12\nab 12\n')
    with pytest.raises(InputError, match=r's.txt:2: .* is not an image key'):
        read_key_file(str(path))
    path.write_text('# nothing\n')
    with pytest.raises(InputError, match='lists no images'):
        read_key_file(str(path))
    with pytest.raises(InputError, match='not found'):
        read_key_file(str(tmp_path / 'none.txt'))


def test_check_split_keys():
    assert check_split_keys(('b', 'a'), {'a', 'b', 'c'}, 's.txt',
                            'the CSV') == ['b', 'a']
    with pytest.raises(ReleaseError) as e:
        check_split_keys(['a', 'x', 'y'], {'a'}, 'r/INbreast.csv', 'the CSV',
                         ReleaseError)
    assert str(e.value) == (
        "r/INbreast.csv: the split lists 2 key(s) that are not in the CSV: "
        "['x', 'y']; the split was written for another release: rewrite it "
        'with tools/split_patients.py')


def test_both_records_share_the_image_fields():
    shared = [f.name for f in dataclasses.fields(ImageInfo)]
    assert shared == ['file_name', 'patient_id', 'img_path', 'height',
                      'width', 'laterality', 'view']
    for cls in (MammoRecord, ImageRecord):
        assert issubclass(cls, ImageInfo)
        assert [f.name for f in dataclasses.fields(cls)][:7] == shared


def test_inbreast_report_counts_like_the_base():
    report = INbreastScanReport()
    assert isinstance(report, ScanReport)
    report.skip('unusable DICOM', '22678622', 'truncated pixel data')
    report.skip('unusable DICOM', '22678622')
    report.skip('CSV row without DICOM', '53586869')
    report.dicom_without_csv.append('x.dcm')
    assert report.num_skipped == 2
    assert report.errors == {'22678622': 'truncated pixel data'}
    assert report.dropped() == {
        'unusable DICOM': ['22678622'],
        'CSV row without DICOM': ['53586869'],
        'DICOM without CSV row': ['x.dcm']}
