"""Zero-ignoring statistics against a NumPy reference."""
import numpy as np
import pytest

from mmdet_inbreast.datasets.stats import nonzero_moments, nonzero_stats
from mmdet_inbreast.datasets.transforms.loading import read_dicom_pixels


def test_against_numpy_on_synthetic_release(synthetic_release):
    _, images = synthetic_release
    pixels = [read_dicom_pixels(im.dicom_path)[0] for im in images]
    assert all(p.dtype == np.uint16 for p in pixels)
    seen = []

    def progress(it):
        for x in it:
            seen.append(1)
            yield x

    stats = nonzero_stats(iter(pixels), progress=progress)
    ref = np.concatenate([p[p != 0] for p in pixels]).astype(np.float64)
    assert stats['num_pixels'] == ref.size
    assert stats['num_images'] == len(images) == len(seen) == 22
    assert stats['mean'] == pytest.approx(np.mean(ref), rel=1e-9)
    assert stats['std'] == pytest.approx(np.std(ref), rel=1e-9)
    # The zeros (background) are left out: the plain mean is far lower.
    all_px = np.concatenate([p.ravel() for p in pixels])
    assert all_px.mean() < 0.8 * stats['mean']
    # Tissue drawn around the seed thesis' 1449.49 +- 221.67.
    assert 1300 < stats['mean'] < 1700 and 150 < stats['std'] < 400


def test_exact_integer_sums():
    """Values whose float64 sums of squares would lose digits are summed
    exactly: 3 pixels 2**26 + {0, 1, 2} have std sqrt(2/3) exactly."""
    img = np.array([[0, 2**26, 2**26 + 1], [2**26 + 2, 0, 0]], np.int64)
    n, s, sq = nonzero_moments(img)
    assert (n, s, sq) == (3, 3 * 2**26 + 3,
                          sum((2**26 + k)**2 for k in range(3)))
    assert isinstance(s, int) and isinstance(sq, int)
    stats = nonzero_stats([img])
    assert stats['mean'] == 2**26 + 1
    assert stats['std'] == pytest.approx(np.sqrt(2 / 3), rel=1e-12)


def test_float_images_and_mixed():
    rng = np.random.default_rng(1)
    a = rng.normal(5.0, 2.0, size=(30, 20)).astype(np.float32)
    a[:, :5] = 0
    b = rng.integers(0, 9, size=(7, 9)).astype(np.uint16)
    stats = nonzero_stats([a, b])
    ref = np.concatenate([a[a != 0].astype(np.float64),
                          b[b != 0].astype(np.float64)])
    assert stats['num_pixels'] == ref.size
    assert stats['mean'] == pytest.approx(ref.mean(), rel=1e-9)
    assert stats['std'] == pytest.approx(ref.std(), rel=1e-9)


def test_no_nonzero_pixel():
    with pytest.raises(ValueError, match=r'no non-zero pixel in 2 image\(s\)'):
        nonzero_stats([np.zeros((3, 3)), np.zeros((2, 2), np.uint16)])
    with pytest.raises(ValueError, match=r'in 0 image\(s\)'):
        nonzero_stats([])
