"""BI-RADS normalisation and the benign / malignant rule."""
import pytest

from mmdet_inbreast.datasets.malignancy import (MalignancyRule,
                                                normalize_birads,
                                                split_class_name)


@pytest.mark.parametrize('value,expected', [
    ('BI-RADS 4', '4'), ('BI-RADS 5', '5'), ('4a', '4a'), (' 4A ', '4a'),
    ('4c', '4c'), (3, '3'), ('birads 2', '2'), ('BIRADS 6', '6'),
    ('', None), (None, None), ('nan', None), ('7', None), ('4d', None)])
def test_normalize_birads(value, expected):
    assert normalize_birads(value) == expected


@pytest.mark.parametrize('value,expected', [
    ('2', 'benign'), ('3', 'benign'), ('BI-RADS 3', 'benign'),
    ('4', 'malignant'), ('4a', 'malignant'), ('4b', 'malignant'),
    ('4c', 'malignant'), ('5', 'malignant'), ('BI-RADS 5', 'malignant'),
    ('6', 'malignant'), ('0', None), ('1', None), ('', None), (None, None)])
def test_default_rule(value, expected):
    assert MalignancyRule().classify(value) == expected


def test_configured_rule():
    rule = MalignancyRule.build(dict(benign=['2', '3', '4a'],
                                     malignant=['4b', '4c', '5'],
                                     unknown='skip'))
    assert rule.classify('4a') == 'benign'
    assert rule.classify('4b') == 'malignant'
    assert rule.classify('4') is None  # neither list
    assert rule.classify('6') is None
    assert rule.unknown == 'skip'
    assert MalignancyRule.build(None) == MalignancyRule()
    assert MalignancyRule.build(rule) is rule


@pytest.mark.parametrize('kwargs,match', [
    (dict(benign=('3', ), malignant=('3', '4')), 'both'),
    (dict(benign=('x', )), 'not BI-RADS'),
    (dict(unknown='drop'), 'unknown'),
])
def test_bad_rule(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MalignancyRule(**kwargs)


def test_split_class_name():
    assert split_class_name('malignant_mass') == ('malignant', 'mass')
    assert split_class_name('benign_suspicious_calcification') == (
        'benign', 'suspicious_calcification')
    assert split_class_name('mass') == (None, 'mass')


CLS = ('benign_mass', 'malignant_mass', 'suspicious_calcification')


@pytest.mark.parametrize('categories,birads,expected', [
    ({'mass'}, 'BI-RADS 5', (['malignant_mass'], None)),
    ({'mass'}, '3', (['benign_mass'], None)),
    ({'mass', 'suspicious_calcification'}, '4',
     (['malignant_mass', 'suspicious_calcification'], None)),
    ({'mass'}, '', ([], 'benign_mass')),
    ({'mass'}, '0', ([], 'benign_mass')),
    ({'suspicious_calcification'}, None, (['suspicious_calcification'],
                                          None)),
    ({'asymmetry'}, '4', ([], None)),
])
def test_box_labels(categories, birads, expected):
    from mmdet_inbreast.datasets.malignancy import box_labels
    assert box_labels(categories, birads, CLS) == expected


def test_box_labels_one_malignancy_selected():
    from mmdet_inbreast.datasets.malignancy import box_labels
    assert box_labels({'mass'}, '3', ('malignant_mass', )) == ([], None)
    assert box_labels({'mass'}, '1', ('malignant_mass', )) == (
        [], 'malignant_mass')
    assert box_labels({'mass'}, '4a', ('mass', 'malignant_mass')) == (
        ['mass', 'malignant_mass'], None)
