"""Split files and their statistics: one writer for the demo, the
synthetic benchmark release and the folds of a study.

A split is ``<dir>/<name>.txt`` (image keys, ``#`` comments) and its
zero-ignoring statistics are ``<dir>/<name>.stats.json`` beside it
(``compute_split_stats``). The statistics a run normalises with are always
those of its own training split.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Sequence

from ..datasets import read_split_file, scan_release
from ..datasets.splits import make_folds, split_by_ratios, write_split
from ..datasets.stats import compute_split_stats

SPLIT_NAMES = ('train', 'val', 'test')


def stats_path(split_path: str) -> str:
    """``<dir>/<name>.stats.json`` of ``<dir>/<name>.txt``."""
    return osp.splitext(split_path)[0] + '.stats.json'


def write_split_and_stats(data_root: str, split_path: str,
                          keys: Sequence[str], header: str = '',
                          with_stats: bool = True) -> str:
    """Write a split file and (optionally) its statistics.

    Args:
        data_root (str): The release folder (the images are read from it).
        split_path (str): Where the split goes (absolute, or relative to
            ``data_root``).
        keys (Sequence[str]): Image keys.
        header (str): ``#`` comment lines. Defaults to ''.
        with_stats (bool): Also write ``<name>.stats.json``. Defaults to
            True.

    Returns:
        str: The statistics file (or the split file without stats).
    """
    path = split_path if osp.isabs(split_path) else osp.join(
        data_root, split_path)
    write_split(path, keys, header)
    if not with_stats:
        return path
    stats_file, _ = compute_split_stats(data_root, path)
    return stats_file


def write_splits_and_stats(release: str,
                           ratios: Sequence[float] = (0.6, 0.2, 0.2),
                           seed: int = 0,
                           header: str = '',
                           overwrite: bool = False) -> list[list[str]]:
    """``splits/{train,val,test}.txt`` by patient (stratified by masses)
    and ``splits/train.stats.json`` in a release.

    Existing split files are kept (and read back) unless ``overwrite``;
    missing statistics of the training split are computed.

    Args:
        release (str): The release folder.
        ratios (Sequence[float]): train, val, test ratios. Defaults to
            (0.6, 0.2, 0.2).
        seed (int): Split seed. Defaults to 0.
        header (str): Comment of the split files. Defaults to the ratios
            and the seed.
        overwrite (bool): Write new splits even if they exist. Defaults to
            False.

    Returns:
        list[list[str]]: The image keys of train, val and test.
    """
    split_dir = osp.join(release, 'splits')
    paths = [osp.join(split_dir, f'{n}.txt') for n in SPLIT_NAMES]
    header = header or (f'ratios {" ".join(map(str, ratios))}, '
                        f'seed {seed}')
    if not overwrite and all(osp.isfile(p) for p in paths):
        parts = [read_split_file(p) for p in paths]
    else:
        records, _ = scan_release(release)
        parts = split_by_ratios(records, ratios, seed=seed)
        for path, keys in zip(paths, parts):
            write_split(path, keys, header)
        overwrite = True
    if overwrite or not osp.isfile(stats_path(paths[0])):
        compute_split_stats(release, paths[0])
    return parts


def write_fold_files(release: str, folds: Sequence[dict], out_dir: str,
                     header: str = '') -> list[dict[str, str]]:
    """Write each fold's ``train/val/test.txt`` and the statistics of its
    training split to ``<out_dir>/fold<k>/``.

    Files that exist with the same keys are kept (a resumed study), so the
    statistics are not recomputed.

    Args:
        release (str): The release folder.
        folds (Sequence[dict]): ``make_folds`` output.
        out_dir (str): Parent folder of the ``fold<k>`` folders.
        header (str): Comment line of the split files. Defaults to ''.

    Returns:
        list[dict[str, str]]: Per fold, paths of ``train``, ``val``,
        ``test`` and ``stats``.
    """
    files = []
    for k, fold in enumerate(folds):
        d = osp.join(out_dir, f'fold{k}')
        paths = {}
        for name in SPLIT_NAMES:
            path = osp.join(d, f'{name}.txt')
            same = osp.isfile(path) and read_split_file(path) == list(
                fold[name])
            if not same:
                write_split(path, fold[name],
                            f'{header}\nfold {k} of {len(folds)}: {name}')
                if osp.isfile(stats_path(path)):
                    os.remove(stats_path(path))
            paths[name] = path
        if not osp.isfile(stats_path(paths['train'])):
            compute_split_stats(release, paths['train'])
        paths['stats'] = stats_path(paths['train'])
        files.append(paths)
    return files


def check_out_of_fold(folds: Sequence[dict], keys: Sequence[str]) -> None:
    """Raise ValueError unless every key is in exactly one fold's test part
    and no image is in two parts of one fold.

    Args:
        folds (Sequence[dict]): ``make_folds`` output.
        keys (Sequence[str]): All image keys of the release.
    """
    tested: dict[str, int] = {}
    for k, fold in enumerate(folds):
        parts = [set(fold[n]) for n in SPLIT_NAMES]
        for i in range(3):
            for j in range(i + 1, 3):
                both = parts[i] & parts[j]
                if both:
                    raise ValueError(
                        f'fold {k}: {SPLIT_NAMES[i]} and {SPLIT_NAMES[j]} '
                        f'share {len(both)} images, e.g. {sorted(both)[0]}')
        for key in fold['test']:
            if key in tested:
                raise ValueError(f'image {key} is tested in folds '
                                 f'{tested[key]} and {k}')
            tested[key] = k
    missing = sorted(set(keys) - set(tested))
    if missing:
        raise ValueError(f'{len(missing)} images are tested in no fold, '
                         f'e.g. {missing[0]}')
