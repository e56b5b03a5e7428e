"""The decoded-image cache (mmdet_inbreast/datasets/cache.py) and its tool,
tools/cache_images.py, on the small synthetic release."""
import os
import os.path as osp
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pydicom
import pytest
from conftest import breast_pixels, flatten, write_dicom

from mmdet_inbreast.datasets import INbreastDataset, ReleaseError
from mmdet_inbreast.datasets.cache import (UP_TO_DATE, WRITTEN, cache_images,
                                           cache_one, cache_path,
                                           is_up_to_date, release_dicoms,
                                           write_npy_atomic)
from mmdet_inbreast.datasets.splits import write_split
from mmdet_inbreast.datasets.transforms import LoadDicomImage
from mmdet_inbreast.datasets.transforms.loading import read_dicom_pixels

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def cached(synthetic_release, tmp_path_factory):
    """The whole synthetic release cached once (in this process)."""
    root, images = synthetic_release
    cache_dir = str(tmp_path_factory.mktemp('cache'))
    dicoms, _, scan = release_dicoms(root)
    assert scan.num_skipped == 0
    report = cache_images(dicoms, cache_dir)
    return root, images, cache_dir, report


def test_cache_equals_decoded_dicom(cached):
    root, images, cache_dir, report = cached
    assert sorted(report.written) == sorted(im.file_name for im in images)
    assert len(images) == 22 and report.up_to_date == []
    assert report.dtypes == {'uint16'}
    assert sorted(os.listdir(cache_dir)) == sorted(
        f'{im.file_name}.npy' for im in images)  # no temporary files left
    total = 0
    for im in images:
        arr = np.load(cache_path(cache_dir, im.file_name))
        ref, _ = read_dicom_pixels(im.dicom_path)
        assert arr.dtype == np.uint16 and arr.shape == (im.height, im.width)
        np.testing.assert_array_equal(arr, ref)
        raw = pydicom.dcmread(im.dicom_path).pixel_array
        np.testing.assert_array_equal(arr, raw)
        total += os.path.getsize(cache_path(cache_dir, im.file_name))
    # 128-byte .npy header + 2 bytes a pixel.
    assert report.bytes_written == total == sum(
        128 + 2 * im.height * im.width for im in images)


def test_load_dicom_image_maps_cache_without_decoding(cached):
    root, images, cache_dir, _ = cached
    dataset = INbreastDataset(data_root=root, pipeline=[], test_mode=True)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert len(infos) == 22
    refs = {i['file_name']: read_dicom_pixels(i['img_path'])[0]
            for i in infos}
    loader = LoadDicomImage(cache_dir=cache_dir)
    with mock.patch(
            'mmdet_inbreast.datasets.transforms.loading.read_dicom_pixels',
            side_effect=AssertionError('decoded despite the cache')):
        for info in infos:
            out = loader(dict(info))
            img = out['img']
            assert isinstance(img, np.memmap)  # mapped, not read
            assert img.dtype == np.uint16
            np.testing.assert_array_equal(img, refs[info['file_name']])
            assert out['img_shape'] == out['ori_shape'] == img.shape
            assert out['dicom_meta']['transfer_syntax'] == 'cache'
    # Without the cache the same transform decodes (the mock is gone).
    out = LoadDicomImage()(dict(infos[0]))
    assert not isinstance(out['img'], np.memmap)


def test_is_up_to_date_compares_mtimes(tmp_path):
    dcm, npy = tmp_path / 'a.dcm', tmp_path / 'a.npy'
    dcm.write_bytes(b'x')
    assert not is_up_to_date(str(dcm), str(npy))  # missing
    npy.write_bytes(b'y')
    t = 1_700_000_000_000_000_000
    os.utime(dcm, ns=(t, t))
    os.utime(npy, ns=(t + 1, t + 1))
    assert is_up_to_date(str(dcm), str(npy))
    os.utime(npy, ns=(t, t))  # same timestamp: treated as stale
    assert not is_up_to_date(str(dcm), str(npy))
    os.utime(npy, ns=(t - 10**9, t - 10**9))
    assert not is_up_to_date(str(dcm), str(npy))


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / 'k.npy'
    assert write_npy_atomic(str(out), np.arange(6, dtype=np.uint16)) == 140
    with mock.patch('numpy.save', side_effect=OSError('disk full')):
        with pytest.raises(OSError, match='disk full'):
            write_npy_atomic(str(out), np.zeros(3, dtype=np.uint16))
    # The old file is intact and no temporary file is left.
    np.testing.assert_array_equal(np.load(out), np.arange(6))
    assert os.listdir(tmp_path) == ['k.npy']


def test_cache_one_float32_rescaled(tmp_path):
    """A file with a rescale decodes to float32; the cache keeps it."""
    pixels = breast_pixels(40, 30, seed=4)
    path = str(tmp_path / 'r.dcm')
    write_dicom(path, pixels, RescaleSlope=2, RescaleIntercept=-5)
    key, status, size, dtype = cache_one('12345678', path, str(tmp_path))
    assert (key, status, dtype) == ('12345678', WRITTEN, 'float32')
    arr = np.load(cache_path(str(tmp_path), key))
    np.testing.assert_array_equal(arr, pixels.astype(np.float32) * 2 - 5)
    assert size == 128 + 4 * 40 * 30
    assert cache_one('12345678', path, str(tmp_path))[1] == UP_TO_DATE


def test_release_dicoms_split(synthetic_release, tmp_path):
    root, images = synthetic_release
    everything, records, scan = release_dicoms(root)
    assert sorted(everything) == sorted(im.file_name for im in images)
    assert [r.file_name for r in records] == list(everything)
    assert everything[images[3].file_name] == images[3].dicom_path
    keys = [images[5].file_name, images[2].file_name]
    write_split(str(tmp_path / 's.txt'), keys)
    assert list(release_dicoms(root, str(tmp_path / 's.txt'))[0]) == keys
    write_split(str(tmp_path / 'bad.txt'), keys + ['99999999'])
    with pytest.raises(ReleaseError, match=r"not in the CSV: \['99999999'\]"):
        release_dicoms(root, str(tmp_path / 'bad.txt'))


def test_workers_must_not_be_negative(tmp_path):
    with pytest.raises(ValueError, match='workers=-1'):
        cache_images({}, str(tmp_path), workers=-1)


def run_tool(*args, capsys=None):
    """Run tools/cache_images.py: in a subprocess, or in this process
    (``runpy``, faster: mmdet is imported already) when given ``capsys``."""
    argv = [str(REPO / 'tools' / 'cache_images.py')] + [str(a) for a in args]
    if capsys is not None:
        capsys.readouterr()
        with mock.patch.object(sys, 'argv', argv):
            runpy.run_path(argv[0], run_name='__main__')
        return capsys.readouterr().out.strip()
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    result = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'cache_images.py')] +
        [str(a) for a in args],
        cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.slow
def test_cache_images_tool_skips_and_rewrites_stale(synthetic_release,
                                                    tmp_path, capsys):
    src, images = synthetic_release
    root = tmp_path / 'INbreast Release 1.0'
    shutil.copytree(src, root)
    keys = [im.file_name for im in images[:6]]
    write_split(str(root / 'splits' / 'train.txt'), keys)
    cache_dir = tmp_path / 'cache'
    sizes = sum(128 + 2 * im.height * im.width for im in images[:6])

    out = run_tool(root, '--split', 'splits/train.txt', '--cache-dir',
                   cache_dir, '--workers', 2)
    scan, last = out.splitlines()
    assert scan.startswith('scan: 6 images listed, 6 read, ')
    assert last == (f'6 images: 6 written ({sizes / 2**20:.1f} MiB, '
                    f'uint16), 0 up to date, 0 failed, 0 skipped by the '
                    f'scan -> {cache_dir}')
    assert sorted(os.listdir(cache_dir)) == sorted(f'{k}.npy' for k in keys)
    mtimes = {k: os.stat(cache_dir / f'{k}.npy').st_mtime_ns for k in keys}

    # Second run: nothing to do, nothing touched.
    out = run_tool(root, '--split', 'splits/train.txt', '--cache-dir',
                   cache_dir, capsys=capsys)
    assert out.splitlines()[-1].startswith(
        '6 images: 0 written (0.0 MiB, -), 6 up to date, 0 failed')
    assert mtimes == {k: os.stat(cache_dir / f'{k}.npy').st_mtime_ns
                      for k in keys}

    # A DICOM replaced by new pixels (and a later mtime): rewritten.
    stale = images[2]
    dicom = root / 'AllDICOMs' / osp.basename(stale.dicom_path)
    new_pixels = breast_pixels(stale.height, stale.width, seed=9)
    write_dicom(str(dicom), new_pixels)
    future = os.stat(cache_dir / f'{stale.file_name}.npy').st_mtime_ns + 10**9
    os.utime(dicom, ns=(future, future))
    out = run_tool(root, '--split', 'splits/train.txt', '--cache-dir',
                   cache_dir, capsys=capsys)
    assert out.splitlines()[-1].startswith('6 images: 1 written (')
    assert ', 5 up to date' in out
    np.testing.assert_array_equal(
        np.load(cache_dir / f'{stale.file_name}.npy'), new_pixels)
    for k in keys:
        if k != stale.file_name:
            assert os.stat(cache_dir / f'{k}.npy').st_mtime_ns == mtimes[k]


def test_rerun_removes_stale_tmp_files(synthetic_release, tmp_path):
    root, images = synthetic_release
    cache_dir = tmp_path / 'cache'
    cache_dir.mkdir()
    stale = [f'.{images[0].file_name}.npy.k2j4h.tmp', '.12345678.npy.x.tmp']
    for name in stale:
        (cache_dir / name).write_bytes(b'\x93NUMPY half')
    (cache_dir / 'notes.tmp').write_text('not ours')  # left alone
    dicoms = {im.file_name: im.dicom_path for im in images[:2]}
    report = cache_images(dicoms, str(cache_dir))
    assert report.stale_tmp == sorted(stale)
    assert sorted(os.listdir(cache_dir)) == sorted(
        [f'{k}.npy' for k in dicoms] + ['notes.tmp'])


@pytest.mark.parametrize('workers', [0, 2])
def test_file_that_fails_to_decode_is_skipped(synthetic_release, tmp_path,
                                              workers):
    root, images = synthetic_release
    broken = tmp_path / 'broken.dcm'
    with open(images[1].dicom_path, 'rb') as f:
        broken.write_bytes(f.read()[:-500])
    dicoms = {im.file_name: im.dicom_path for im in images[:3]}
    dicoms[images[1].file_name] = str(broken)
    report = cache_images(dicoms, str(tmp_path / 'cache'), workers=workers)
    assert report.written == [images[0].file_name, images[2].file_name]
    assert list(report.failed) == [images[1].file_name]
    assert report.failed[images[1].file_name].startswith(str(broken) + ': ')
    assert 'truncated or damaged' in report.failed[images[1].file_name]


def test_tool_skips_what_the_scan_refuses(synthetic_release, tmp_path,
                                          capsys):
    src, images = synthetic_release
    root = tmp_path / 'INbreast Release 1.0'
    shutil.copytree(src, root)
    ct = images[4]
    shutil.copy(osp.join(osp.dirname(pydicom.data.__file__), 'test_files',
                         'CT_small.dcm'), ct.dicom_path.replace(src,
                                                                str(root)))
    cache_dir = tmp_path / 'cache'
    out = run_tool(root, '--cache-dir', cache_dir, capsys=capsys)
    lines = out.splitlines()
    assert lines[0].startswith(
        'scan: 22 images listed, 21 read, ')
    assert (f'1 skipped (1 not a mammogram (Modality): {ct.file_name})'
            in lines[0])
    assert any(ln.startswith(f'skipped {ct.file_name}: ') and
               "Modality 'CT'" in ln for ln in lines)
    assert lines[-1].startswith('21 images: 21 written (')
    assert lines[-1].endswith(f'0 failed, 1 skipped by the scan -> '
                              f'{cache_dir}')
    assert f'{ct.file_name}.npy' not in os.listdir(cache_dir)


def test_tool_input_error_is_one_line(synthetic_release, tmp_path, capsys):
    root, images = synthetic_release
    write_split(str(tmp_path / 'other.txt'), ['12345678'])
    with pytest.raises(SystemExit) as e:
        run_tool(root, '--split', tmp_path / 'other.txt', '--cache-dir',
                 tmp_path / 'cache', capsys=capsys)
    assert e.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (f"error: {osp.join(root, 'INbreast.csv')}: the split "
                      "lists 1 key(s) that are not in the CSV: ['12345678']; "
                      'the split was written for another release: rewrite '
                      'it with tools/split_patients.py')


_SLOW_DRIVER = """
import os, sys, time
import numpy as np
from mmdet_inbreast.datasets import cache

def slow_save(f, arr, allow_pickle=False):
    f.write(b'\\x93NUMPY partial')
    f.flush()
    open(os.path.join(sys.argv[3], str(os.getpid())), 'w').close()
    time.sleep(600)

np.save = slow_save  # inherited by the forked workers
dicoms, _, _ = cache.release_dicoms(sys.argv[1])
cache.cache_images(dicoms, sys.argv[2], workers=2)
"""


def _alive(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            state = f.read().rsplit(')', 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ('Z', 'X')  # a zombie has ended


def _wait(condition, timeout):
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.mark.slow
@pytest.mark.skipif(not osp.isdir('/proc'), reason='reads /proc')
@pytest.mark.parametrize('sig', ['SIGKILL', 'SIGTERM'])
def test_workers_end_with_the_parent_and_rerun_cleans_up(
        synthetic_release, tmp_path, sig):
    import signal
    root, images = synthetic_release
    driver, cache_dir, pids = (tmp_path / 'driver.py', tmp_path / 'cache',
                               tmp_path / 'pids')
    driver.write_text(_SLOW_DRIVER)
    pids.mkdir()
    env = dict(os.environ, PYTHONWARNINGS='ignore',
               PYTHONPATH=os.pathsep.join(
                   [str(REPO), os.environ.get('PYTHONPATH', '')]))
    parent = subprocess.Popen(
        [sys.executable, str(driver), root, str(cache_dir), str(pids)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Both workers are inside a write (their temporary files exist).
        assert _wait(lambda: len(os.listdir(pids)) == 2, 240)
        workers = [int(p) for p in os.listdir(pids)]
        assert all(_alive(p) for p in workers)
        parent.send_signal(getattr(signal, sig))
        parent.wait(60)
        assert _wait(lambda: not any(_alive(p) for p in workers), 60), \
            f'workers {workers} outlived the parent ({sig})'
    finally:
        if parent.poll() is None:
            parent.kill()
    left = [n for n in os.listdir(cache_dir) if n.endswith('.tmp')]
    assert len(left) == 2  # the killed writes' temporary files
    # The rerun removes them and caches everything.
    report = cache_images({im.file_name: im.dicom_path for im in images},
                          str(cache_dir))
    assert sorted(report.stale_tmp) == sorted(left)
    assert sorted(os.listdir(cache_dir)) == sorted(
        f'{im.file_name}.npy' for im in images)


def test_cached_config_changes_only_cache_and_cudnn():
    from mmengine.config import Config
    base = flatten(Config.fromfile(
        str(REPO / 'configs' / 'retina_patch.py')).to_dict())
    cached = flatten(Config.fromfile(
        str(REPO / 'configs' / 'retina_patch_cached.py')).to_dict())
    diff = {k: (base.get(k), cached.get(k))
            for k in set(base) | set(cached) if base.get(k) != cached.get(k)}
    pipe = 'train_dataloader.dataset.dataset.pipeline.0.cache_dir'
    assert diff == {
        'cache_dir': (None, 'data/inbreast_cache/'),
        pipe: (None, 'data/inbreast_cache/'),
        'patch_pipeline.0.cache_dir': (None, 'data/inbreast_cache/'),
        'env_cfg.cudnn_benchmark': (False, True),
    }
