"""SafeCheckpointHook: a run killed while it saves a checkpoint resumes;
--resume falls back to the newest intact checkpoint; best checkpoints are
replaced only after the new one is complete."""
import glob
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub, MMLogger

from mmdet_inbreast.engine import CheckpointError, SafeCheckpointHook
from mmdet_inbreast.engine.checkpoint import (checkpoint_file_problem,
                                              safe_torch_load)

#: Trains ``CONFIG`` into ``WORK_DIR`` with ``HOOK`` (max_keep_ckpts=1, as
#: the demo configs) and SIGKILLs itself once half the bytes of the file
#: whose name contains ``KILL_AT`` are on disk: a kill in the middle of a
#: checkpoint save, at the same byte every time.
KILL_SCRIPT = textwrap.dedent('''
    import os, signal, sys
    import torch
    from mmengine.config import Config
    from mmengine.fileio.backends import LocalBackend
    from mmengine.runner import Runner
    import mmdet_inbreast  # noqa: F401

    config, work_dir, hook, kill_at = sys.argv[1:5]
    put = LocalBackend.put

    def put_then_die(self, obj, filepath):
        if kill_at in os.path.basename(str(filepath)):
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
                f.flush()
                os.fsync(f.fileno())
            print(f'KILLED writing {filepath}', flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        return put(self, obj, filepath)

    LocalBackend.put = put_then_die
    torch.set_num_threads(1)
    cfg = Config.fromfile(config)
    cfg.work_dir = work_dir
    cfg.default_hooks.checkpoint = dict(type=hook, interval=1,
                                        max_keep_ckpts=1)
    Runner.from_cfg(cfg).train()
''')


def _kill_during_save(tiny_config, work_dir, hook, tmp_path):
    script = tmp_path / 'kill_during_save.py'
    script.write_text(KILL_SCRIPT)
    result = subprocess.run(
        [sys.executable, str(script), tiny_config, work_dir, hook,
         'epoch_2.pth'], capture_output=True, text=True, timeout=600)
    assert result.returncode == -signal.SIGKILL, result.stderr[-3000:]
    assert 'KILLED writing' in result.stdout
    return result


def _last_checkpoint(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def _assert_same_state(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.mark.slow
def test_mmengine_hook_loses_the_run(tiny_config, tmp_path):
    """The fault the hook fixes, injected the same way: mmengine's own
    CheckpointHook deletes epoch_1.pth before it writes epoch_2.pth, so the
    kill leaves a fragment under the final name and nothing to resume."""
    work_dir = str(tmp_path / 'work')
    _kill_during_save(tiny_config, work_dir, 'CheckpointHook', tmp_path)
    assert [n for n in os.listdir(work_dir) if 'pth' in n] == [
        'epoch_2.pth']  # epoch_1.pth is gone
    fragment = osp.join(work_dir, 'epoch_2.pth')
    size = os.path.getsize(fragment)
    assert checkpoint_file_problem(fragment) == f'truncated ({size} bytes)'
    assert _last_checkpoint(work_dir).endswith('epoch_1.pth')
    with pytest.raises(CheckpointError, match=r'no intact checkpoint.*'
                       r'epoch_1\.pth, which is missing.*also damaged: '
                       rf'epoch_2\.pth \(truncated \({size} bytes\)\)'):
        from mmdet_inbreast.engine import find_resume_checkpoint
        find_resume_checkpoint(work_dir)


@pytest.mark.slow
def test_kill_during_save_then_resume(tiny_config, run_a, train_py,
                                      tmp_path):
    """Killed while epoch_2.pth is written: epoch_1.pth survives, no
    fragment under the final name, last_checkpoint names epoch_1.pth; then
    --resume trains epoch 2 to exactly the weights of an uninterrupted run
    and cleans up the unfinished file."""
    work_dir = str(tmp_path / 'work')
    _kill_during_save(tiny_config, work_dir, 'SafeCheckpointHook', tmp_path)
    names = os.listdir(work_dir)
    assert 'epoch_1.pth' in names and 'epoch_2.pth' not in names
    fragments = [n for n in names if n.startswith('.epoch_2.pth.')]
    assert len(fragments) == 1 and fragments[0].endswith('.tmp')
    first = osp.join(work_dir, 'epoch_1.pth')
    assert checkpoint_file_problem(first, deep=True) is None
    assert _last_checkpoint(work_dir) == first
    # The epoch-1 weights are those of the uninterrupted run.
    _assert_same_state(safe_torch_load(first)['state_dict'],
                       safe_torch_load(osp.join(run_a,
                                                'epoch_1.pth'))['state_dict'])

    cfg = Config.fromfile(tiny_config)
    cfg.default_hooks.checkpoint.max_keep_ckpts = 1
    config = str(tmp_path / 'keep1.py')
    cfg.dump(config)
    train_py(config, '--work-dir', work_dir, '--resume')
    log = open(sorted(glob.glob(osp.join(work_dir, '*', '*.log')))[-1]).read()
    assert 'resumed epoch: 1, iter: 2' in log
    assert f'removed 1 unfinished checkpoint file(s) of an interrupted ' \
        f'save: {fragments[0]}' in log
    assert sorted(n for n in os.listdir(work_dir) if 'pth' in n) == [
        'epoch_2.pth']  # max_keep_ckpts=1 removed epoch_1.pth after the save
    final = osp.join(work_dir, 'epoch_2.pth')
    assert _last_checkpoint(work_dir) == final
    a = safe_torch_load(osp.join(run_a, 'epoch_2.pth'))
    b = safe_torch_load(final)
    assert (b['meta']['epoch'], b['meta']['iter']) == (2, 4)
    _assert_same_state(a['state_dict'], b['state_dict'])


@pytest.mark.slow
def test_resume_falls_back_to_intact_checkpoint(tiny_config, run_a,
                                                train_py, tmp_path):
    """last_checkpoint names a truncated epoch_2.pth: --resume says so and
    continues from epoch_1.pth, to the uninterrupted run's weights."""
    work_dir = str(tmp_path / 'work')
    os.makedirs(work_dir)
    shutil.copy(osp.join(run_a, 'epoch_1.pth'), work_dir)
    data = open(osp.join(run_a, 'epoch_2.pth'), 'rb').read()
    broken = osp.join(work_dir, 'epoch_2.pth')
    with open(broken, 'wb') as f:
        f.write(data[:len(data) // 3])
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(broken)
    train_py(tiny_config, '--work-dir', work_dir, '--resume')
    log = open(glob.glob(osp.join(work_dir, '*', '*.log'))[0]).read()
    assert (f'last_checkpoint names {broken}, which is truncated '
            f'({len(data) // 3} bytes); resuming from the newest intact '
            f'checkpoint {osp.join(work_dir, "epoch_1.pth")} instead') in log
    assert 'resumed epoch: 1, iter: 2' in log
    _assert_same_state(
        safe_torch_load(osp.join(run_a, 'epoch_2.pth'))['state_dict'],
        safe_torch_load(broken)['state_dict'])


# ------------------------------------------- best checkpoint, no training
class _FakeRunner:
    """What CheckpointHook uses of a runner; ``save_checkpoint`` records
    which files existed while it wrote."""

    def __init__(self, work_dir):
        self.work_dir = work_dir
        self.epoch, self.iter = 0, 0
        self.train_loop = SimpleNamespace(max_epochs=3)
        self.message_hub = MessageHub.get_instance(f'best_{id(self)}')
        self.logger = MMLogger.get_instance(f'best_{id(self)}')
        self.seen = []

    def save_checkpoint(self, out_dir, filename, file_client_args=None,
                        **kwargs):
        self.seen.append((filename, sorted(os.listdir(out_dir))))
        with open(osp.join(out_dir, filename), 'wb') as f:
            torch.save({'epoch': self.epoch}, f)


def test_best_checkpoint_replaced_after_save(tmp_path):
    runner = _FakeRunner(str(tmp_path))
    hook = SafeCheckpointHook(interval=1, max_keep_ckpts=1,
                              save_best='acc', rule='greater')
    hook.before_train(runner)
    for epoch, acc in [(1, 0.5), (2, 0.4), (3, 0.7)]:
        runner.epoch, runner.iter = epoch - 1, epoch * 2 - 1
        hook.after_train_epoch(runner)  # saves epoch_{epoch}.pth
        runner.epoch = epoch
        hook.after_val_epoch(runner, {'acc': acc})
    names = sorted(n for n in os.listdir(tmp_path) if n.endswith('.pth'))
    assert names == ['best_acc_epoch_3.pth', 'epoch_3.pth']
    assert runner.message_hub.get_info('best_score') == 0.7
    # Each file was written under a temporary name while the previous
    # best (and the previous epoch) were still on disk.
    saves = [(name, files) for name, files in runner.seen
             if '.best_acc_epoch_3.pth.' in name]
    assert len(saves) == 1 and 'best_acc_epoch_1.pth' in saves[0][1]
    saves = [(name, files) for name, files in runner.seen
             if '.epoch_3.pth.' in name]
    assert saves and 'epoch_2.pth' in saves[0][1]
    assert _last_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_3.pth')
    assert not [n for n in os.listdir(tmp_path) if n.endswith('.tmp')]
