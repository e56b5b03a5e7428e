"""find_resume_checkpoint: last_checkpoint's file when intact, else the
newest intact epoch_N.pth / iter_N.pth, with one log line."""
import logging
import os
import os.path as osp
import shutil

import pytest

from mmdet_inbreast.engine import CheckpointError, find_resume_checkpoint
from mmdet_inbreast.engine.resume import resumable_checkpoints


@pytest.fixture
def work_dir(run_a, tmp_path):
    """epoch_1.pth and epoch_2.pth of a real run, no last_checkpoint."""
    for name in ('epoch_1.pth', 'epoch_2.pth'):
        shutil.copy(osp.join(run_a, name), tmp_path)
    return str(tmp_path)


def _point(work_dir, target):
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(target)


def _truncate(path, keep=1000):
    with open(path, 'r+b') as f:
        f.truncate(keep)


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.INFO, logger='test_resume')
    return logging.getLogger('test_resume'), caplog


def test_intact_last_checkpoint_is_taken_silently(work_dir, log):
    logger, caplog = log
    first = osp.join(work_dir, 'epoch_1.pth')
    _point(work_dir, first)  # not the newest: still the one named
    assert find_resume_checkpoint(work_dir, logger) == first
    assert caplog.records == []


def test_fresh_work_dir(tmp_path, log):
    assert find_resume_checkpoint(str(tmp_path), log[0]) is None
    assert find_resume_checkpoint(str(tmp_path / 'absent'), log[0]) is None


def test_no_last_checkpoint_takes_newest(work_dir, log):
    logger, caplog = log
    chosen = find_resume_checkpoint(work_dir, logger)
    assert chosen == osp.join(work_dir, 'epoch_2.pth')
    assert [r.getMessage() for r in caplog.records] == [
        f'{osp.join(work_dir, "last_checkpoint")} is missing or empty; '
        f'resuming from the newest intact checkpoint {chosen} instead']
    assert caplog.records[0].levelno == logging.WARNING


def test_moved_work_dir(work_dir, log):
    """last_checkpoint names the folder the run was in before a move."""
    logger, caplog = log
    _point(work_dir, '/old/place/epoch_2.pth')
    assert find_resume_checkpoint(work_dir, logger) == osp.join(
        work_dir, 'epoch_2.pth')
    assert 'names /old/place/epoch_2.pth, which is missing' in \
        caplog.records[0].getMessage()


def test_truncated_newest_falls_back_and_names_both(work_dir, log):
    logger, caplog = log
    second = osp.join(work_dir, 'epoch_2.pth')
    _truncate(second)
    _point(work_dir, second)
    chosen = find_resume_checkpoint(work_dir, logger)
    assert chosen == osp.join(work_dir, 'epoch_1.pth')
    assert [r.getMessage() for r in caplog.records] == [
        f'{osp.join(work_dir, "last_checkpoint")} names {second}, which is '
        f'truncated (1000 bytes); resuming from the newest intact '
        f'checkpoint {chosen} instead']


def test_damaged_candidates_are_named(work_dir, log):
    """last_checkpoint lost, epoch_3.pth text, epoch_2.pth truncated."""
    logger, caplog = log
    with open(osp.join(work_dir, 'epoch_3.pth'), 'w') as f:
        f.write('oops')
    _truncate(osp.join(work_dir, 'epoch_2.pth'), 500)
    chosen = find_resume_checkpoint(work_dir, logger)
    assert chosen == osp.join(work_dir, 'epoch_1.pth')
    assert caplog.records[0].getMessage().endswith(
        "instead; also damaged: epoch_3.pth (not a checkpoint (4 bytes of "
        "text: 'oops'...)), epoch_2.pth (truncated (500 bytes))")


def test_nothing_intact_raises(work_dir):
    for name in ('epoch_1.pth', 'epoch_2.pth'):
        _truncate(osp.join(work_dir, name), 10)
    _point(work_dir, osp.join(work_dir, 'epoch_2.pth'))
    with pytest.raises(CheckpointError, match=(
            r'no intact checkpoint to resume from: .*epoch_2\.pth, which is '
            r'truncated \(10 bytes\); also damaged: epoch_1\.pth '
            r'\(truncated \(10 bytes\)\); train without --resume')):
        find_resume_checkpoint(work_dir)


def test_only_epoch_and_iter_checkpoints_are_candidates(work_dir):
    for name in ('best_coco_bbox_mAP_50_epoch_9.pth', 'epoch_10.pth.bak',
                 '.epoch_11.pth.123.tmp', 'iter_7.pth'):
        shutil.copy(osp.join(work_dir, 'epoch_1.pth'),
                    osp.join(work_dir, name))
    os.utime(osp.join(work_dir, 'iter_7.pth'), (0, 0))
    assert [osp.basename(p) for p in resumable_checkpoints(work_dir)] == [
        'iter_7.pth', 'epoch_2.pth', 'epoch_1.pth']
