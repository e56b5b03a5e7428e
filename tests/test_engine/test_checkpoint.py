"""Safe checkpoint loading (weights_only=True plus a narrow allowlist), and
resuming a run through tools/train.py."""
import copy
import glob
import importlib
import json
import os
import os.path as osp
import pickle
import runpy
import shutil
import sys
import uuid
from unittest import mock

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
from mmdet_inbreast.engine.checkpoint import (_history_buffer_getattr,
                                              load_from_local_safe,
                                              safe_torch_load)
from mmdet_inbreast.utils import set_data_root

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module', autouse=True)
def _one_thread():
    """One intra-op thread: on a small shared CPU, two OpenMP threads make
    a RetinaNet-R18 step ~10x slower."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# --------------------------------------------------------- a tiny real run
@pytest.fixture(scope='module')
def tiny_config(synthetic_release, tmp_path_factory):
    """configs/demo/retina_demo_patch.py cut down and written to a file:
    RetinaNet-R18 on 64 x 64 crops of 2 positive and 2 negative images (one
    repeat each), batch 2, 2 epochs of 2 iterations, seed 0, no validation,
    a checkpoint every epoch.

    One non-persistent loader worker: mmengine seeds it with the run's
    seed at every epoch, so the crops of an epoch do not depend on what
    ran before. With ``num_workers=0`` the crops come from the main
    process' numpy generator, which a checkpoint does not hold, and a
    resumed run would draw other crops than the uninterrupted one.
    """
    from mmdet_inbreast.datasets.release import scan_release
    from mmdet_inbreast.datasets.stats import nonzero_stats
    from mmdet_inbreast.datasets.transforms.loading import read_dicom_pixels
    root, images = synthetic_release
    keys = ([im.file_name for im in images if im.mass_boxes][:2]
            + [im.file_name for im in images if not im.mass_boxes][:2])
    tmp = tmp_path_factory.mktemp('ckpt')
    (tmp / 'train.txt').write_text('\n'.join(keys) + '\n')
    records, _ = scan_release(root, keys=keys)
    stats = nonzero_stats(read_dicom_pixels(r.img_path)[0] for r in records)
    (tmp / 'stats.json').write_text(json.dumps(stats))

    cfg = Config.fromfile(osp.join(REPO, 'configs/demo/retina_demo_patch.py'))
    set_data_root(cfg, root, str(tmp / 'stats.json'))
    ds = cfg.train_dataloader.dataset
    ds.pos_times, ds.neg_times = 1, 1
    ds.dataset.ann_file = str(tmp / 'train.txt')
    ds.dataset.pipeline[2].crop_size = (64, 64)
    cfg.train_dataloader.update(batch_size=2, num_workers=1,
                                persistent_workers=False)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2,
                         val_interval=100)
    for k in ('val', 'test'):
        cfg[f'{k}_cfg'] = cfg[f'{k}_dataloader'] = cfg[f'{k}_evaluator'] = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1,
                                        max_keep_ckpts=-1)
    cfg.randomness = dict(seed=0)
    path = str(tmp / 'tiny_retina.py')
    cfg.dump(path)
    return path


def _train_py(*args):
    """Run tools/train.py in this process with ``args``."""
    argv = ['tools/train.py', *args, '--cfg-options',
            f'experiment_name=run_{uuid.uuid4().hex[:8]}']
    with mock.patch.object(sys, 'argv', argv), \
            mock.patch.dict(os.environ):
        runpy.run_path(osp.join(REPO, 'tools/train.py'), run_name='__main__')


@pytest.fixture(scope='module')
def run_a(tiny_config, tmp_path_factory):
    """Two epochs without interruption; returns the work dir."""
    work_dir = str(tmp_path_factory.mktemp('run_a'))
    _train_py(tiny_config, '--work-dir', work_dir)
    assert sorted(f for f in os.listdir(work_dir) if f.endswith('.pth')) == [
        'epoch_1.pth', 'epoch_2.pth']
    return work_dir


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
def test_resume_equivalence(run_a, tiny_config, tmp_path):
    """1 epoch, then ``tools/train.py --resume`` to epoch 2, gives exactly
    the weights (and optimizer state) of 2 epochs in one go."""
    work_dir = str(tmp_path / 'run_b')
    os.makedirs(work_dir)
    shutil.copy(osp.join(run_a, 'epoch_1.pth'), work_dir)
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work_dir, 'epoch_1.pth'))
    _train_py(tiny_config, '--work-dir', work_dir, '--resume')
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
