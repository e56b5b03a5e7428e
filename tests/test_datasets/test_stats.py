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


# ------------------------------------------------------- statistics files
import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402

from mmdet_inbreast.datasets.release import read_split_file  # noqa: E402
from mmdet_inbreast.datasets.stats import (check_stats_split,  # noqa: E402
                                           compute_split_stats, file_sha256,
                                           load_stats, stats_path_for_split)
from mmdet_inbreast.utils.errors import InputError  # noqa: E402


def test_stats_path_for_split():
    assert stats_path_for_split('splits/train.txt') == \
        'splits/train.stats.json'
    assert stats_path_for_split('/r/splits/ratio8-2/train.txt') == \
        '/r/splits/ratio8-2/train.stats.json'
    assert stats_path_for_split('fold0/val.txt') == 'fold0/val.stats.json'


def test_file_sha256(tmp_path):
    path = tmp_path / 'a.txt'
    data = b'22678622\n' * 70000  # more than one 1 MiB block
    path.write_bytes(data)
    assert file_sha256(str(path)) == hashlib.sha256(data).hexdigest()


@pytest.fixture
def release(synthetic_release, tmp_path):
    """A copy of the synthetic release with two disjoint splits."""
    src, images = synthetic_release
    root = tmp_path / 'INbreast Release 1.0'
    shutil.copytree(src, root)
    keys = [im.file_name for im in images]
    (root / 'splits' / 'ratio8-2').mkdir(parents=True)
    (root / 'splits' / 'train.txt').write_text(
        '# a comment\n' + ''.join(k + '\n' for k in keys[:12]))
    (root / 'splits' / 'ratio8-2' / 'train.txt').write_text(
        ''.join(k + '\n' for k in keys[12:]))
    return root, images


def test_compute_split_stats(release):
    root, images = release
    path, stats = compute_split_stats(str(root), 'splits/train.txt')
    assert path == str(root / 'splits' / 'train.stats.json')
    assert json.loads(open(path).read()) == stats
    keys = set(read_split_file(str(root / 'splits' / 'train.txt')))
    pixels = [read_dicom_pixels(im.dicom_path)[0] for im in images
              if im.file_name in keys]
    ref = np.concatenate([p[p != 0] for p in pixels]).astype(np.float64)
    assert stats['num_images'] == 12 and stats['num_pixels'] == ref.size
    assert stats['mean'] == pytest.approx(ref.mean(), rel=1e-9)
    assert stats['std'] == pytest.approx(ref.std(), rel=1e-9)
    assert stats['split_file'] == 'splits/train.txt'
    assert stats['split_sha256'] == hashlib.sha256(
        (root / 'splits' / 'train.txt').read_bytes()).hexdigest()
    assert stats['command'] == (f'python tools/compute_stats.py "{root}" '
                                '--split splits/train.txt')
    assert stats['skipped'] == []
    # Only that file was written: nothing else appeared under splits/.
    written = sorted(str(p.relative_to(root)) for p in root.rglob('*.json'))
    assert written == ['splits/train.stats.json']


def test_compute_split_stats_absolute_split_and_other_split(release):
    root, _ = release
    first, a = compute_split_stats(str(root), 'splits/train.txt')
    before = open(first).read()
    split = str(root / 'splits' / 'ratio8-2' / 'train.txt')
    path, b = compute_split_stats(str(root), split)
    assert path == str(root / 'splits' / 'ratio8-2' / 'train.stats.json')
    assert b['split_file'] == split and b['num_images'] == 10
    assert open(first).read() == before  # the other split's file untouched
    assert a['mean'] != b['mean']


def test_compute_split_stats_skips_unreadable_images(release, capsys):
    root, images = release
    keys = read_split_file(str(root / 'splits' / 'train.txt'))
    broken = next(im for im in images if im.file_name == keys[0])
    copy = root / 'AllDICOMs' / os.path.basename(broken.dicom_path)
    data = copy.read_bytes()
    with open(copy, 'wb') as f:
        f.write(data[:len(data) // 2])  # header intact, pixels cut
    path, stats = compute_split_stats(str(root), 'splits/train.txt')
    assert stats['num_images'] == 11
    assert len(stats['skipped']) == 1
    skipped = stats['skipped'][0]
    assert keys[0] in skipped['file'] and skipped['reason']
    assert 'skipped 1 image(s)' in capsys.readouterr().out
    good = [read_dicom_pixels(im.dicom_path)[0] for im in images
            if im.file_name in set(keys[1:])]
    ref = np.concatenate([p[p != 0] for p in good]).astype(np.float64)
    assert stats['mean'] == pytest.approx(ref.mean(), rel=1e-9)


def test_compute_split_stats_missing_split(release):
    root, _ = release
    with pytest.raises(InputError, match=r'splits/nope.txt: split file not '
                       r'found; write it with python tools/split_patients'):
        compute_split_stats(str(root), 'splits/nope.txt')


GOOD = dict(mean=1500.25, std=200.5, num_pixels=9)


@pytest.mark.parametrize('text,problem', [
    ('{"mean": NaN, "std": 2.0}', 'mean is nan, not a finite number'),
    ('{"mean": 1.0, "std": Infinity}', 'std is inf, not a finite number'),
    ('{"mean": 1.0, "std": -Infinity}', 'std is -inf, not a finite number'),
    ('{"mean": 1.0, "std": 0}', 'std is 0, not above 0'),
    ('{"mean": 1.0, "std": -3.5}', 'std is -3.5, not above 0'),
    ('{"mean": 1.0, "std": "2"}', "std is '2', not a number"),
    ('{"mean": true, "std": 2}', 'mean is True, not a number'),
    ('{"std": 2.0}', 'mean is None, not a number'),
    ('[1449.49, 221.67]', 'expected a JSON object with mean and std, got a '
     'list'),
    ('{"mean": 1449.49, "std": 22', 'not valid JSON'),
    ('', 'not valid JSON'),
])
def test_load_stats_rejects(tmp_path, text, problem):
    root = tmp_path / 'INbreast Release 1.0'
    (root / 'splits').mkdir(parents=True)
    (root / 'INbreast.csv').write_text('')
    path = root / 'splits' / 'train.stats.json'
    path.write_text(text)
    with pytest.raises(InputError) as e:
        load_stats(str(path))
    msg = str(e.value)
    assert msg.startswith(f'{path}: {problem}')
    # The command that rewrites it: the split beside it, in its release.
    assert msg.endswith(f'rewrite it with python tools/compute_stats.py '
                        f'"{root}" --split splits/train.txt')
    assert '\n' not in msg


def test_load_stats_missing_and_good(tmp_path):
    missing = tmp_path / 'fold0' / 'train.stats.json'
    with pytest.raises(InputError, match=r'fold0/train.stats.json: '
                       r'statistics file not found; rewrite it with python '
                       r'tools/compute_stats.py "DATA_ROOT" --split '
                       r'.*fold0/train.txt$'):
        load_stats(str(missing))
    good = tmp_path / 'good.stats.json'
    good.write_text(json.dumps(dict(GOOD, mean=1500)))
    stats = load_stats(str(good))
    assert stats['mean'] == 1500.0 and isinstance(stats['mean'], float)
    assert stats['std'] == 200.5 and stats['num_pixels'] == 9


def test_check_stats_split(release):
    root, _ = release
    train = str(root / 'splits' / 'train.txt')
    other = str(root / 'splits' / 'ratio8-2' / 'train.txt')
    path, _ = compute_split_stats(str(root), 'splits/train.txt')
    check_stats_split(path, train)  # its own split: fine
    # Computed on another split: both files and the fix are named.
    with pytest.raises(InputError) as e:
        check_stats_split(path, other)
    msg = str(e.value)
    assert msg.startswith(f'{path}: computed on splits/train.txt, not on '
                          f'the training split {other}')
    assert (f'python tools/compute_stats.py "{root}" --split '
            'splits/ratio8-2/train.txt and normalise with '
            f'{stats_path_for_split(other)}') in msg
    # The split rewritten after the statistics: refused as well.
    with open(train, 'a') as f:
        f.write('# edited\n')
    with pytest.raises(InputError, match='sha256 differs'):
        check_stats_split(path, train)
    # Statistics of the old format carry no hash.
    old = root / 'splits' / 'train_stats.json'
    old.write_text(json.dumps(GOOD))
    with pytest.raises(InputError, match=r'train_stats.json: records no '
                       r'split hash'):
        check_stats_split(str(old), other)
    os.remove(old)
