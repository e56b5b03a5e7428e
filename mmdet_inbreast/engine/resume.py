"""Which checkpoint ``--resume`` continues from.

mmengine resumes from the file that ``<work_dir>/last_checkpoint`` names,
whatever state it is in. :func:`find_resume_checkpoint` checks that file and,
when it is missing or damaged (a run killed while saving under an older
checkpoint hook, a disk that filled up), falls back to the newest intact
``epoch_N.pth`` / ``iter_N.pth`` in the work dir, and says so in one log
line.
"""
from __future__ import annotations

import logging
import os
import os.path as osp
import re
from typing import Any, Optional

from mmengine.logging import print_log

from .checkpoint import CheckpointError, checkpoint_file_problem

#: Checkpoints a run can continue from (``best_*.pth`` lack the optimizer).
_RESUMABLE = re.compile(r'^(epoch|iter)_(\d+)\.pth$')


def resumable_checkpoints(work_dir: str) -> list[str]:
    """``epoch_N.pth`` and ``iter_N.pth`` in ``work_dir``, newest first
    (highest N, then latest modification)."""
    if not osp.isdir(work_dir):
        return []
    found = []
    for name in os.listdir(work_dir):
        match = _RESUMABLE.match(name)
        path = osp.join(work_dir, name)
        if match and osp.isfile(path):
            found.append((int(match.group(2)), osp.getmtime(path), path))
    return [path for _, _, path in sorted(found, reverse=True)]


def find_resume_checkpoint(work_dir: str,
                           logger: Any = 'current') -> Optional[str]:
    """The checkpoint to resume from: ``last_checkpoint``'s file if it is
    intact, else the newest intact one in ``work_dir``.

    A checkpoint is intact when :func:`checkpoint_file_problem` finds
    nothing with ``deep=True`` (zip directory present, every member's CRC
    right). When the file ``last_checkpoint`` names is not intact, one line
    names it, what is wrong with it, and the file chosen instead.

    Args:
        work_dir (str): The run's work dir.
        logger: ``print_log``'s ``logger`` (a logger, ``'current'``...).
            Defaults to ``'current'``.

    Returns:
        str | None: The checkpoint, or None when the work dir holds neither
        ``last_checkpoint`` nor any ``epoch_N.pth`` / ``iter_N.pth`` (a
        fresh run: mmengine then starts from scratch).

    Raises:
        CheckpointError: If there are checkpoints but none is intact.
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    named = None
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip() or None
    problem = None
    if named is not None:
        problem = checkpoint_file_problem(named, deep=True)
        if problem is None:
            return named
    damaged, chosen = [], None
    for path in resumable_checkpoints(work_dir):
        if named is not None and osp.exists(named) and \
                osp.samefile(path, named):
            continue
        path_problem = checkpoint_file_problem(path, deep=True)
        if path_problem is None:
            chosen = path
            break
        damaged.append(f'{osp.basename(path)} ({path_problem})')
    if named is None and chosen is None and not damaged:
        return None
    what = (f'{pointer} names {named}, which is {problem}' if named else
            f'{pointer} is missing or empty')
    also = f'; also damaged: {", ".join(damaged)}' if damaged else ''
    if chosen is None:
        raise CheckpointError(
            f'{work_dir}: no intact checkpoint to resume from: {what}{also}; '
            'train without --resume into a new work dir')
    print_log(f'{what}; resuming from the newest intact checkpoint '
              f'{chosen} instead{also}', logger=logger, level=logging.WARNING)
    return chosen
