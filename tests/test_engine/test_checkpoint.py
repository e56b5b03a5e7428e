"""Safe checkpoint loading (weights_only=True plus a narrow allowlist), and
resuming a run through tools/train.py."""
import copy
import glob
import importlib
import io
import os
import os.path as osp
import pickle
import re
import shutil
import uuid
import zipfile

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmengine.runner.checkpoint import (CheckpointLoader, _load_checkpoint,
                                        load_checkpoint)

import mmdet_inbreast  # noqa: F401  (registers the safe loader)
from mmdet_inbreast.engine.checkpoint import (CheckpointError,
                                              CheckpointRefusedError,
                                              _history_buffer_getattr,
                                              checkpoint_file_problem,
                                              load_from_local_safe,
                                              safe_torch_load)
from mmdet_inbreast.utils import InputError

pytestmark = pytest.mark.usefixtures('single_thread')


def _assert_same_tensors(a, b, path=''):
    """Every tensor of ``a`` and ``b`` bit-identical (nested structures)."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), path
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _assert_same_tensors(a[k], b[k], f'{path}/{k}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same_tensors(x, y, f'{path}[{i}]')
    else:
        assert a == b, path


@pytest.mark.slow
def test_resume_equivalence(run_a, tiny_config, train_py, tmp_path):
    """1 epoch, then ``tools/train.py --resume`` to epoch 2, gives exactly
    the weights (and optimizer state) of 2 epochs in one go."""
    work_dir = str(tmp_path / 'run_b')
    os.makedirs(work_dir)
    shutil.copy(osp.join(run_a, 'epoch_1.pth'), work_dir)
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work_dir, 'epoch_1.pth'))
    train_py(tiny_config, '--work-dir', work_dir, '--resume')
    # It did resume (a fresh 2-epoch run would match as well): epoch 2 only.
    log = open(glob.glob(osp.join(work_dir, '*', '*.log'))[0]).read()
    assert 'resumed epoch: 1, iter: 2' in log
    assert 'Epoch(train) [2][2/2]' in log and 'Epoch(train) [1]' not in log
    a = safe_torch_load(osp.join(run_a, 'epoch_2.pth'))
    b = safe_torch_load(osp.join(work_dir, 'epoch_2.pth'))
    assert (b['meta']['epoch'], b['meta']['iter']) == (2, 4)
    assert len(a['state_dict']) > 100
    _assert_same_tensors(a['state_dict'], b['state_dict'])
    _assert_same_tensors(a['optimizer'], b['optimizer'])
    assert a['param_schedulers'] == b['param_schedulers']
    # The run did train in epoch 2: weights differ from epoch 1.
    e1 = safe_torch_load(osp.join(run_a, 'epoch_1.pth'))['state_dict']
    changed = [k for k, v in a['state_dict'].items()
               if not torch.equal(v, e1[k])]
    assert len(changed) > 100
    # Both runs logged the same losses in epoch 2.
    la = a['message_hub']['log_scalars']['train/loss']
    lb = b['message_hub']['log_scalars']['train/loss']
    np.testing.assert_array_equal(la.data[0][-2:], lb.data[0][-2:])


# ---------------------------------------------- loading mmengine's own files
def _types(obj, found=None):
    found = set() if found is None else found
    found.add(type(obj))
    if isinstance(obj, dict):
        for v in obj.values():
            _types(v, found)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _types(v, found)
    return found


@pytest.mark.slow
def test_plain_torch_load_refuses_mmengine_checkpoints(run_a):
    """The reason for the module: torch's default weights_only=True load
    fails on mmengine's own checkpoints."""
    with pytest.raises(pickle.UnpicklingError):
        torch.load(osp.join(run_a, 'epoch_1.pth'))


@pytest.mark.slow
def test_load_checkpoint_paths(run_a, tiny_config):
    path = osp.join(run_a, 'epoch_1.pth')
    assert CheckpointLoader._get_checkpoint_loader(path) is \
        load_from_local_safe
    ckpt = _load_checkpoint(path, map_location='cpu')
    assert ckpt.keys() == {'meta', 'state_dict', 'message_hub', 'optimizer',
                           'param_schedulers'}
    assert (ckpt['meta']['epoch'], ckpt['meta']['iter']) == (1, 2)
    hub = ckpt['message_hub']
    found = _types(hub)
    assert HistoryBuffer in found and np.float64 in found
    loss = hub['log_scalars']['train/loss']
    assert isinstance(loss, HistoryBuffer)
    assert isinstance(loss.data[0], np.ndarray) and len(loss.data[0]) == 2
    # The statistics methods came back through the restricted getattr.
    assert loss.mean() == pytest.approx(loss.data[0].mean())
    assert loss.current() == loss.data[0][-1]

    from mmdet.registry import MODELS
    cfg = Config.fromfile(tiny_config)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    load_checkpoint(model, path, map_location='cpu', strict=True)
    _assert_same_tensors(model.state_dict(), ckpt['state_dict'])


@pytest.mark.slow
def test_numpy1_checkpoint_loads(run_a, tmp_path):
    """A checkpoint written under numpy < 2 names numpy.core.multiarray.*
    (the same functions numpy 2 calls numpy._core.multiarray.*)."""
    import zipfile
    src = osp.join(run_a, 'epoch_1.pth')
    old = str(tmp_path / 'numpy1.pth')
    with zipfile.ZipFile(src) as zin, \
            zipfile.ZipFile(old, 'w', zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.endswith('/data.pkl'):
                assert b'numpy._core.multiarray\n_reconstruct' in data
                assert b'numpy._core.multiarray\nscalar' in data
                data = data.replace(b'numpy._core.multiarray',
                                    b'numpy.core.multiarray')
            zout.writestr(info, data)
    ckpt = _load_checkpoint(old)
    ref = _load_checkpoint(src)
    _assert_same_tensors(ckpt['state_dict'], ref['state_dict'])
    assert ckpt['message_hub']['runtime_info']['eta'] == \
        ref['message_hub']['runtime_info']['eta']
    np.testing.assert_array_equal(
        ckpt['message_hub']['log_scalars']['train/loss'].data[0],
        ref['message_hub']['log_scalars']['train/loss'].data[0])


@pytest.mark.slow
def test_runner_load_from(run_a, tiny_config, tmp_path):
    cfg = Config.fromfile(tiny_config)
    cfg.work_dir = str(tmp_path)
    cfg.experiment_name = f'load_{uuid.uuid4().hex[:8]}'
    cfg.load_from = osp.join(run_a, 'epoch_2.pth')
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    ckpt = safe_torch_load(cfg.load_from)
    _assert_same_tensors(runner.model.state_dict(), ckpt['state_dict'])
    assert runner.epoch == 0  # load_from: weights only, no resume


# ------------------------------------------------------ refusing the rest
class _Reduce:
    """Pickles as ``func(*args)`` (then ``state`` through BUILD)."""

    def __init__(self, func, args, state=None):
        self.func, self.args, self.state = func, args, state

    def __call__(self, *args):  # pickle wants a callable as func
        raise AssertionError('never called')

    def __reduce__(self):
        if self.state is None:
            return self.func, self.args
        return self.func, self.args, self.state


class _Plain:
    """A custom class, pickled the ordinary way."""

    def __init__(self):
        self.value = 3


def _save(path, payload):
    torch.save(dict(meta=dict(epoch=1), state_dict=dict(w=torch.ones(2)),
                    payload=payload), str(path))
    return str(path)


@pytest.fixture
def sentinel(tmp_path):
    """Path of the file the payloads would create."""
    return str(tmp_path / 'SENTINEL')


def test_os_system_payload_is_refused(tmp_path, sentinel):
    evil = _save(tmp_path / 'evil.pth',
                 _Reduce(os.system, (f'touch {sentinel}', )))
    for load in (lambda: _load_checkpoint(evil),
                 lambda: load_checkpoint(torch.nn.Linear(2, 2), evil),
                 lambda: safe_torch_load(evil)):
        with pytest.raises(pickle.UnpicklingError, match='refused to load'):
            load()
        assert not osp.exists(sentinel)
    # The payload is real: an unsafe load runs it.
    torch.load(evil, weights_only=False)
    assert osp.exists(sentinel)
    os.remove(sentinel)


@pytest.mark.slow
def test_runner_load_from_refuses_payload(tmp_path, sentinel, run_a,
                                          tiny_config):
    ckpt = safe_torch_load(osp.join(run_a, 'epoch_1.pth'))
    ckpt['meta']['evil'] = _Reduce(os.system, (f'touch {sentinel}', ))
    evil = str(tmp_path / 'evil.pth')
    torch.save(ckpt, evil)
    cfg = Config.fromfile(tiny_config)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.experiment_name = f'evil_{uuid.uuid4().hex[:8]}'
    cfg.load_from = evil
    cfg.resume = True
    runner = Runner.from_cfg(cfg)
    with pytest.raises(pickle.UnpicklingError):
        runner.load_or_resume()
    assert not osp.exists(sentinel)


def test_plain_custom_class_is_refused(tmp_path):
    path = _save(tmp_path / 'plain.pth', _Plain())
    with pytest.raises(pickle.UnpicklingError, match='_Plain'):
        _load_checkpoint(path)
    assert torch.load(path, weights_only=False)['payload'].value == 3


@pytest.mark.parametrize('target,name', [
    (HistoryBuffer, '__init__'),
    (HistoryBuffer, 'update'),
    (HistoryBuffer, '__class__'),
    (HistoryBuffer, 'register_statistics'),
    (np.ndarray, 'tofile'),
])
def test_getattr_beyond_statistics_methods_is_refused(tmp_path, target, name):
    """``target`` is allowed as a global, the attribute is not."""
    path = _save(tmp_path / 'getattr.pth', _Reduce(getattr, (target, name)))
    with pytest.raises(pickle.UnpicklingError,
                       match=f'refused getattr.*{name}'):
        _load_checkpoint(path)


def test_getattr_os_system_is_refused(tmp_path, sentinel):
    """getattr(os, 'system')('touch ...'): refused (the module ``os``
    cannot even be reached), and the restricted getattr refuses it too."""
    os_module = _Reduce(importlib.import_module, ('os', ))
    system = _Reduce(getattr, (os_module, 'system'))
    path = _save(tmp_path / 'os.pth',
                 _Reduce(system, (f'touch {sentinel}', )))
    with pytest.raises(pickle.UnpicklingError):
        _load_checkpoint(path)
    assert not osp.exists(sentinel)
    with pytest.raises(pickle.UnpicklingError, match='refused getattr'):
        _history_buffer_getattr(os, 'system')
    assert _history_buffer_getattr(HistoryBuffer, 'mean') is \
        HistoryBuffer.mean


def test_statistics_methods_cannot_widen_getattr(tmp_path):
    """A HistoryBuffer whose pickled state registers '__init__' as a
    statistics method must not make getattr(HistoryBuffer, '__init__')
    loadable, nor change HistoryBuffer for the rest of the process."""
    HistoryBuffer()  # registers the default methods, as any run does first
    saved = dict(HistoryBuffer._statistics_methods)
    poison = _Reduce(HistoryBuffer, (), state=dict(
        _max_length=1, _log_history=np.zeros(1), _count_history=np.ones(1),
        statistics_methods={'__init__': 0, 'mean': 1}))
    grab = _Reduce(getattr, (HistoryBuffer, '__init__'))
    try:
        path = _save(tmp_path / 'poison.pth', [poison, grab])
        with pytest.raises(pickle.UnpicklingError, match='refused getattr'):
            _load_checkpoint(path)
        assert HistoryBuffer._statistics_methods == saved
        # The poison alone loads, and leaves the class as it was.
        path = _save(tmp_path / 'poison_only.pth', [poison])
        assert isinstance(_load_checkpoint(path)['payload'][0],
                          HistoryBuffer)
        assert HistoryBuffer._statistics_methods == saved
        assert HistoryBuffer._statistics_methods['mean'] is HistoryBuffer.mean
    finally:
        HistoryBuffer._statistics_methods.clear()
        HistoryBuffer._statistics_methods.update(saved)


@pytest.mark.slow
def test_global_allowlist_unchanged(run_a, tmp_path):
    original = torch.serialization.get_safe_globals()
    good = osp.join(run_a, 'epoch_1.pth')
    evil = _save(tmp_path / 'plain.pth', _Plain())
    try:
        for preset in ([], [np.dtype, np.ndarray]):
            # A user's own global entries, some shared with our list.
            torch.serialization.clear_safe_globals()
            torch.serialization.add_safe_globals(preset)
            before = copy.copy(torch.serialization.get_safe_globals())
            _load_checkpoint(good)
            assert set(torch.serialization.get_safe_globals()) == set(before)
            with pytest.raises(pickle.UnpicklingError):
                _load_checkpoint(evil)
            assert set(torch.serialization.get_safe_globals()) == set(before)
            assert set(before) == set(preset)
        # Outside a load, torch itself still refuses the checkpoint.
        torch.serialization.clear_safe_globals()
        with pytest.raises(pickle.UnpicklingError):
            torch.load(good)
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(original)


# ----------------------------------------- files that are not checkpoints
def _truncated_zip(src, dst):
    data = open(src, 'rb').read()
    open(dst, 'wb').write(data[:len(data) // 2])
    return len(data) // 2


def _truncated_legacy(src, dst):
    buf = io.BytesIO()
    torch.save(safe_torch_load(src)['state_dict'], buf,
               _use_new_zipfile_serialization=False)
    data = buf.getvalue()
    open(dst, 'wb').write(data[:len(data) - 100])
    return len(data) - 100


def _zip_of_images(src, dst):
    with zipfile.ZipFile(dst, 'w') as z:
        z.writestr('images/a.png', b'\x89PNG')
    return os.path.getsize(dst)


def _bit_flip(src, dst):
    data = bytearray(open(src, 'rb').read())
    with zipfile.ZipFile(src) as z:
        info = [i for i in z.infolist() if '/data/' in i.filename][-1]
    # The member's data follows its local header: 30 bytes, the name and
    # an extra field whose length is at bytes 28-29.
    extra = int.from_bytes(data[info.header_offset + 28:
                                info.header_offset + 30], 'little')
    start = info.header_offset + 30 + len(info.filename.encode()) + extra
    data[start] ^= 0xFF
    open(dst, 'wb').write(bytes(data))
    return len(data)


@pytest.mark.parametrize('kind,write,expected', [
    ('empty', lambda src, dst: open(dst, 'wb').close() or 0,
     r'not a checkpoint \(0 bytes\): the file is empty; give the \.pth'),
    ('text', lambda src, dst: open(dst, 'w').write('epoch_1.pth\n'),
     r"not a checkpoint \(12 bytes of text: 'epoch_1\.pth\\n'\.\.\.\); give"),
    ('lfs', lambda src, dst: open(dst, 'w').write(
        'version https://git-lfs.github.com/spec/v1\noid sha256:0\n'),
     r'not a checkpoint \(\d+ bytes\): a Git LFS pointer; run "git lfs '
     r'pull"'),
    ('zip', _zip_of_images,
     r'not a checkpoint \({n} bytes\): a zip archive without data\.pkl'),
    ('truncated', _truncated_zip,
     r'truncated \({n} bytes\); the save was interrupted'),
    ('truncated_legacy', _truncated_legacy,
     r'truncated \({n} bytes\); the save was interrupted'),
    ('bit_flip', _bit_flip,
     r'corrupt \({n} bytes\): .*/data/\d+ fails its CRC check; the file '
     r'was damaged'),
])
def test_not_a_checkpoint_one_line(run_a, tmp_path, kind, write, expected):
    """Empty, text, truncated and damaged files: one CheckpointError line
    naming the file and its size, not a torch or pickle traceback."""
    src = osp.join(run_a, 'epoch_1.pth')
    dst = str(tmp_path / f'{kind}.pth')
    n = write(src, dst)
    pattern = '^' + re.escape(dst) + ': ' + expected.replace('{n}', str(n))
    for load in (lambda: safe_torch_load(dst), lambda: _load_checkpoint(dst),
                 lambda: load_checkpoint(torch.nn.Linear(2, 2), dst)):
        with pytest.raises(CheckpointError, match=pattern) as e:
            load()
        assert isinstance(e.value, InputError)
        assert not isinstance(e.value, pickle.UnpicklingError)
        assert '\n' not in str(e.value)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError,
                       match=r'nope\.pth: no such checkpoint file'):
        _load_checkpoint(str(tmp_path / 'nope.pth'))


def test_refusal_is_one_line_input_error(tmp_path, sentinel):
    evil = _save(tmp_path / 'evil.pth',
                 _Reduce(os.system, (f'touch {sentinel}', )))
    with pytest.raises(CheckpointRefusedError) as e:
        _load_checkpoint(evil)
    assert isinstance(e.value, InputError)
    assert isinstance(e.value, pickle.UnpicklingError)
    assert str(e.value).startswith(f'{evil}: refused to load')
    assert '\n' not in str(e.value)
    assert not osp.exists(sentinel)


def test_file_problem_of_good_checkpoints(run_a, tmp_path):
    good = osp.join(run_a, 'epoch_1.pth')
    assert checkpoint_file_problem(good) is None
    assert checkpoint_file_problem(good, deep=True) is None
    legacy = str(tmp_path / 'legacy.pth')
    torch.save(safe_torch_load(good)['state_dict'], legacy,
               _use_new_zipfile_serialization=False)
    assert checkpoint_file_problem(legacy, deep=True) is None
    _assert_same_tensors(safe_torch_load(legacy),
                         safe_torch_load(good)['state_dict'])
    assert checkpoint_file_problem(str(tmp_path / 'none.pth')) == 'missing'
