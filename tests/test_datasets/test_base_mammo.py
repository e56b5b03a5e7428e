"""BaseMammoDataset with a toy release: summary line, negatives kept,
filtering, strict problems, palette."""
import pytest

import mmdet_inbreast.datasets.base_mammo as base_module
from mmdet_inbreast.datasets.base_mammo import BaseMammoDataset
from mmdet_inbreast.datasets.records import MammoBox, MammoRecord, ScanReport
from mmdet_inbreast.utils.errors import InputError


def record(key, patient, boxes=(), birads='2', density='B'):
    return MammoRecord(
        file_name=key, patient_id=patient, img_path=f'/x/{key}.dcm',
        height=100, width=80, laterality='L', view='CC', birads=birads,
        birads_category=int(birads[0]), density=density, img_id=int(key),
        boxes=list(boxes), source=f'toy.csv:{key}', extra=dict(site='A'))


class ToyDataset(BaseMammoDataset):
    METAINFO = dict(classes=('benign_mass', 'malignant_mass'))

    def scan(self, report: ScanReport):
        report.listed = 5
        report.problem('toy.csv:9: bad row; fix it', skip='9',
                       reason='bad row')
        report.counts['odd things'] += 2
        return [
            record('1', 'p1', [MammoBox([1, 2, 11, 12], 'malignant_mass')],
                   birads='4a'),
            record('2', 'p1'),
            record('3', 'p2', [MammoBox([0, 0, 5, 5], 'benign_mass', True)]),
            record('4', 'p3', [MammoBox([0, 0, 5, 5], 'benign_mass'),
                               MammoBox([9, 9, 20, 20], 'malignant_mass')]),
        ]


def test_data_infos_and_summary(monkeypatch):
    # The logged text, whatever logger an earlier test created (a logger
    # made under another test's capture keeps writing there).
    lines = []
    monkeypatch.setattr(base_module, 'print_log',
                        lambda msg, logger=None, **kw: lines.append(msg))
    ds = ToyDataset(data_root='')
    assert len(ds) == 4
    info = ds.get_data_info(0)
    assert info['instances'] == [dict(bbox=[1.0, 2.0, 11.0, 12.0],
                                      bbox_label=1, ignore_flag=0)]
    assert (info['birads'], info['birads_category'], info['density'],
            info['site'], info['source']) == ('4a', 4, 'B', 'A', 'toy.csv:1')
    assert ds.get_data_info(2)['instances'][0]['ignore_flag'] == 1
    assert len(ds.metainfo['palette']) == 2
    out = '\n'.join(lines)
    assert ("ToyDataset('', split=all): 5 images listed, 4 read, 2 negative,"
            ' 1 skipped (1 bad row: 9), 1 benign_mass, 2 malignant_mass, '
            '1 ignored, 3 patients; 2 odd things') in out
    assert 'toy.csv:9: bad row; fix it' in out


def test_filtering_keeps_negatives_by_default():
    assert len(ToyDataset(data_root='')) == 4
    ds = ToyDataset(data_root='', filter_cfg=dict(filter_empty_gt=True))
    # Image 3 has only an ignored box: empty for training.
    assert [ds.get_data_info(i)['file_name'] for i in range(len(ds))] == [
        '1', '4']
    assert len(ToyDataset(data_root='', test_mode=True,
                          filter_cfg=dict(filter_empty_gt=True))) == 4


def test_strict_raises_the_problem():
    with pytest.raises(InputError, match='toy.csv:9: bad row'):
        ToyDataset(data_root='', strict=True)


def test_door_check(tmp_path):
    with pytest.raises(InputError, match='not a folder'):
        ToyDataset(data_root=str(tmp_path / 'missing'))
