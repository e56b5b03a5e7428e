"""ZeroIgnoringNormalize: (x - mean) / std with given numbers, background
value, channels, stats file and errors."""
import json

import numpy as np
import pytest

from mmdet_inbreast.datasets.transforms import ZeroIgnoringNormalize
from mmdet_inbreast.datasets.transforms.normalize import load_norm_stats
from mmdet_inbreast.utils.errors import InputError

MEAN, STD = 1449.49, 221.67  # the seed thesis' training-set statistics


def test_values():
    img = np.array([[0, 1449, 1670], [16383, 1, 2899]], dtype=np.uint16)
    out = ZeroIgnoringNormalize(mean=MEAN, std=STD)(dict(img=img.copy()))
    x = out['img']
    assert x.shape == (2, 3, 3) and x.dtype == np.float32
    expected = np.array([[-6.5389543, -0.0022105, 0.9947670],
                         [67.3682050, -6.5344431, 6.5390445]])
    for c in range(3):
        np.testing.assert_allclose(x[..., c], expected, rtol=2e-6, atol=2e-6)
        np.testing.assert_allclose(x[..., c], (img - MEAN) / STD, rtol=1e-6,
                                   atol=1e-6)
    # The three channels are identical copies.
    assert (x[..., 0] == x[..., 1]).all() and (x[..., 1] == x[..., 2]).all()
    # Background: raw 0 -> -mean / std, recorded for padding.
    assert x[0, 0, 0] == pytest.approx(-MEAN / STD, rel=1e-6)
    assert out['background_value'] == pytest.approx(-6.5389543, rel=1e-7)
    assert out['img_norm_cfg'] == dict(mean=MEAN, std=STD, to_rgb=False)


def test_exact_with_power_of_two_std():
    """With numbers float32 holds exactly, the output is exact."""
    img = np.array([[0, 1280, 1088, 16383, 1024, 1]], dtype=np.uint16)
    out = ZeroIgnoringNormalize(mean=1024.0, std=256.0)(dict(img=img))
    for c in range(3):
        assert out['img'][0, :, c].tolist() == [
            -4.0, 1.0, 0.25, 59.99609375, 0.0, -3.99609375]
    assert out['background_value'] == -4.0


@pytest.mark.parametrize('dtype', [np.uint16, np.float32, np.int16, np.uint8])
def test_dtypes_and_shapes(dtype):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 200, size=(5, 7)).astype(dtype)
    t = ZeroIgnoringNormalize(mean=100.0, std=25.0, num_channels=1)
    out = t(dict(img=img))['img']
    assert out.shape == (5, 7, 1) and out.dtype == np.float32
    np.testing.assert_allclose(out[..., 0], (img.astype(np.float64) - 100) /
                               25, rtol=1e-6, atol=1e-6)
    # (H, W, 1) input is accepted as well.
    out2 = t(dict(img=img[..., None]))['img']
    np.testing.assert_array_equal(out, out2)


def test_rejects_multichannel_input():
    t = ZeroIgnoringNormalize(mean=1.0, std=1.0)
    with pytest.raises(ValueError, match=r'/x/a.dcm: expected one channel .* '
                       r'got shape \(4, 4, 3\)'):
        t(dict(img=np.zeros((4, 4, 3)), img_path='/x/a.dcm'))


def test_stats_file(tmp_path):
    path = tmp_path / 'train.stats.json'
    path.write_text(json.dumps(dict(mean=1500.25, std=200.5, num_pixels=9)))
    t = ZeroIgnoringNormalize(stats_file=str(path))
    assert (t.mean, t.std) == (1500.25, 200.5)
    assert t.background_value == -1500.25 / 200.5
    out = t(dict(img=np.array([[0, 1700.75]], dtype=np.float32)))['img']
    np.testing.assert_allclose(out[0, :, 0], [-1500.25 / 200.5, 1.0])
    # Explicit values win over the file.
    assert load_norm_stats(str(path), mean=1.0) == (1.0, 200.5)
    assert load_norm_stats(str(path), std=4.0) == (1500.25, 4.0)


@pytest.mark.parametrize('text,problem', [
    ('{"mean": 1.0, "std": Infinity}', 'std is inf, not a finite number'),
    ('{"mean": NaN, "std": 2.0}', 'mean is nan, not a finite number'),
    ('{"mean": 1.0, "std": 0.0}', 'std is 0.0, not above 0'),
    ('[1.0, 2.0]', 'expected a JSON object'),
    ('{"mean": 1.0, "st', 'not valid JSON'),
])
def test_invalid_stats_file(tmp_path, text, problem):
    """Loaded through load_stats: an Infinity std stops the pipeline build
    (it would normalise every pixel to 0 and find nothing)."""
    path = tmp_path / 'train.stats.json'
    path.write_text(text)
    with pytest.raises(InputError) as e:
        ZeroIgnoringNormalize(stats_file=str(path))
    assert str(e.value).startswith(f'{path}: {problem}')
    assert 'tools/compute_stats.py' in str(e.value)


def test_errors(tmp_path):
    missing = str(tmp_path / 'nope.stats.json')
    with pytest.raises(InputError) as e:
        ZeroIgnoringNormalize(stats_file=missing)
    assert str(e.value).startswith(f'{missing}: statistics file not found')
    assert 'tools/compute_stats.py' in str(e.value)
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(dict(mean=1.0)))
    with pytest.raises(InputError, match='bad.json: std is None'):
        ZeroIgnoringNormalize(stats_file=str(bad))
    with pytest.raises(InputError, match='needs mean and std'):
        ZeroIgnoringNormalize(mean=1.0)
    for std in (0.0, -2.0, float('nan'), float('inf')):
        with pytest.raises(InputError, match='std must be > 0 and finite'):
            ZeroIgnoringNormalize(mean=1.0, std=std)
    with pytest.raises(InputError, match='mean must be finite, got nan'):
        ZeroIgnoringNormalize(mean=float('nan'), std=1.0)
    with pytest.raises(InputError, match='num_channels must be >= 1'):
        ZeroIgnoringNormalize(mean=1.0, std=1.0, num_channels=0)


def test_repr():
    t = ZeroIgnoringNormalize(mean=MEAN, std=STD)
    assert repr(t) == ('ZeroIgnoringNormalize(mean=1449.49, std=221.67, '
                       'stats_file=None, num_channels=3)')
