"""INbreastDataset with malignancy classes: each mass box gets its class
from the image's BI-RADS in INbreast.csv (read here with the csv module,
independently of the dataset's reader)."""
import csv
import os.path as osp

import numpy as np
import pytest
from conftest import write_csv

import mmdet_inbreast  # noqa: F401  (registration)
import mmdet_inbreast.datasets.base_mammo as base_module
from mmdet_inbreast.datasets import INbreastDataset
from mmdet_inbreast.datasets.inbreast_release import ReleaseError

CLASSES = ('benign_mass', 'malignant_mass')


@pytest.fixture
def summaries(monkeypatch):
    lines = []
    monkeypatch.setattr(base_module, 'print_log',
                        lambda msg, logger=None, **kw: lines.append(msg))
    return lines


def csv_birads(root):
    """File Name -> Bi-Rads as written (stripped)."""
    with open(osp.join(root, 'INbreast.csv'), newline='') as f:
        rows = list(csv.reader(f, delimiter=';'))
    header = [c.strip() for c in rows[0]]
    key, birads = header.index('File Name'), header.index('Bi-Rads')
    return {r[key].strip(): r[birads].strip() for r in rows[1:]
            if len(r) > birads and r[key].strip()}


def build(root, **kwargs):
    kwargs.setdefault('pipeline', [])
    kwargs.setdefault('metainfo', dict(classes=CLASSES))
    return INbreastDataset(data_root=root, **kwargs)


def boxes_by_label(ds):
    """key -> (labels, boxes (n, 4), ignore flags) in data-info order."""
    out = {}
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        inst = info['instances']
        out[info['file_name']] = (
            [x['bbox_label'] for x in inst],
            np.array([x['bbox'] for x in inst]).reshape(-1, 4),
            [x['ignore_flag'] for x in inst])
    return out


def test_synthetic_release_labels_from_csv_birads(synthetic_release,
                                                  summaries):
    """The synthetic release's 15 masses: 3 on a BI-RADS 3 image (benign),
    12 on 4a/4b/5 images (malignant); negatives keep BI-RADS 1-2."""
    root, images = synthetic_release
    birads = csv_birads(root)
    ds = build(root)
    assert ds.metainfo['classes'] == CLASSES
    assert len(ds.metainfo['palette']) == 2
    got = boxes_by_label(ds)
    assert len(got) == 22
    n = [0, 0]
    for im in images:
        labels, boxes, ignore = got[im.file_name]
        np.testing.assert_allclose(boxes, np.reshape(im.mass_boxes, (-1, 4)),
                                   atol=1e-3)
        expected = {'3': 0, '4a': 1, '4b': 1, '4c': 1, '5': 1}.get(
            birads[im.file_name])
        assert labels == [expected] * len(im.mass_boxes), im.file_name
        assert ignore == [0] * len(im.mass_boxes)
        for label in labels:
            n[label] += 1
    assert n == [3, 12]
    assert sorted(k for k, (labels, _, _) in got.items() if 0 in labels) == [
        '39065512']
    assert birads['39065512'] == '3'
    first = summaries[0].splitlines()[0]
    assert ('22 images listed, 22 read, 9 negative, 0 skipped, '
            '3 benign_mass, 12 malignant_mass, 6 patients') in first
    assert 'unknown malignancy' not in first


def test_rule_is_configurable(synthetic_release, summaries):
    """4a read as benign: the three 4a masses change sides."""
    root, _ = synthetic_release
    birads = csv_birads(root)
    ds = build(root, malignancy=dict(benign=['2', '3', '4a'],
                                     malignant=['4b', '4c', '5', '6']))
    got = boxes_by_label(ds)
    moved = sorted(k for k, v in birads.items() if v == '4a')
    assert moved == ['21131477', '26370519', '48659982']
    for key in moved:
        assert got[key][0] == [0]
    assert sum(labels.count(0) for labels, _, _ in got.values()) == 6
    assert sum(labels.count(1) for labels, _, _ in got.values()) == 9
    assert '6 benign_mass, 9 malignant_mass' in summaries[0]


def test_unknown_birads_ignored_or_skipped(handmade_release, summaries):
    """A mass on an image whose BI-RADS is 0 is an ignored instance of the
    first malignancy class, or left out with unknown='skip'; counted."""
    h = handmade_release
    path = osp.join(h.root, 'INbreast.csv')
    with open(path, newline='') as f:
        lines = [line for line in f.read().split('\r\n')[1:]
                 if line.strip(';')]  # the five data rows, as written
    assert lines[3].endswith('50994408 ;2;5')
    lines[3] = lines[3][:-1] + '0'
    write_csv(path, lines)
    ds = build(h.root)
    got = boxes_by_label(ds)
    # 22678622: 4c (malignant), 22678646: 4a, two masses (malignant).
    assert got['22678622'][0] == [1]
    assert got['22678646'][0] == [1, 1]
    labels, boxes, ignore = got['50994408']
    assert labels == [0] and ignore == [1]
    np.testing.assert_allclose(boxes, [h.masses('50994408')[0]], atol=1e-3)
    assert ds.get_data_info(3)['birads'] == '0'
    assert ds.get_data_info(3)['birads_category'] == 0
    first = summaries[-1].splitlines()[0]
    assert ('5 images listed, 5 read, 3 negative, 0 skipped, 0 benign_mass, '
            '3 malignant_mass, 2 patients') in first
    assert first.endswith('; 1 boxes of unknown malignancy (ignore)')
    assert ds.scan_report.counts == {
        'boxes of unknown malignancy (ignore)': 1}
    # An image with only an ignored box is empty for training.
    kept = build(h.root, filter_cfg=dict(filter_empty_gt=True))
    assert [kept.get_data_info(i)['file_name'] for i in range(len(kept))] \
        == ['22678622', '22678646']
    ds = build(h.root, malignancy=dict(unknown='skip'))
    assert boxes_by_label(ds)['50994408'][0] == []
    assert summaries[-1].splitlines()[0].endswith(
        '; 1 boxes of unknown malignancy (skip)')


def test_plain_and_prefixed_classes_mix(handmade_release, summaries):
    """'mass' takes every mass, 'malignant_mass' the malignant ones: a
    malignant mass counts for both; 'benign_cluster' reads the 'Cluster'
    ROI of a BI-RADS 5 image as not benign (no box)."""
    h = handmade_release
    ds = build(h.root, metainfo=dict(
        classes=('mass', 'malignant_mass', 'benign_cluster')))
    got = boxes_by_label(ds)
    assert got['22678646'][0] == [0, 1, 0, 1]
    np.testing.assert_allclose(
        got['22678646'][1],
        np.repeat(np.array(h.masses('22678646')), 2, axis=0), atol=1e-3)
    assert got['50994408'][0] == [0, 1]
    assert '4 masses, 4 malignant_mass, 0 benign_cluster, 2 patients' in \
        summaries[0]


def test_unknown_class_refused_at_the_door(handmade_release):
    with pytest.raises(ReleaseError, match=r"classes \['benign_nodule'\] "
                       'are not lesion types'):
        build(handmade_release.root,
              metainfo=dict(classes=('benign_nodule', 'malignant_mass')))


def test_density_and_source(handmade_release, summaries):
    h = handmade_release
    ds = build(h.root, metainfo=dict(classes=('mass', )))
    density = {1: 'A', 2: 'B', 3: 'C', 4: 'D'}
    for i, key in enumerate(h.keys):
        info = ds.get_data_info(i)
        assert info['acr'] == h.acr[key]
        assert info['density'] == density[h.acr[key]]
        assert info['source'] == (
            '' if key in h.negatives else h.xml_path(key))
