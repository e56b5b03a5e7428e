"""Checks that no artefact of held-out data reaches training or model
selection: the statistics belong to the training split, and the kept
"best" checkpoint is not chosen on the test split.

:func:`check_config_leaks` reads only the config (plus, with
``check_files``, the split and statistics files); the tests run it over
every config of the project, :class:`~mmdet_inbreast.engine.hooks.
StatsSplitCheckHook` runs it when training starts, and a study can run it
on each of its runs.
"""
from __future__ import annotations

import os.path as osp
from typing import Any, Optional

NORMALIZE = 'ZeroIgnoringNormalize'


def _get(node: Any, key: str, default: Any = None) -> Any:
    """``node[key]`` for dicts, ConfigDicts and Configs, else
    ``default``."""
    get = getattr(node, 'get', None)
    return get(key, default) if callable(get) else default


def _innermost_dataset(dataset: Any) -> Any:
    """The dataset config inside wrappers (``dataset=dict(...)``)."""
    while isinstance(dataset, dict) and 'dataset' in dataset:
        dataset = dataset['dataset']
    return dataset


def _pipelines(dataset: Any) -> list:
    """Every ``pipeline`` of a dataset config and of the datasets it
    wraps."""
    out = []
    while isinstance(dataset, dict):
        if isinstance(dataset.get('pipeline'), (list, tuple)):
            out.append(dataset['pipeline'])
        dataset = dataset.get('dataset')
    return out


def dataset_split(cfg: Any, loader: str) -> Optional[str]:
    """The split file a dataloader of ``cfg`` reads, as
    ``BaseDataset`` resolves it (``ann_file`` joined to ``data_root``
    unless absolute), normalised; None when the config has no such loader
    or reads every image (empty ``ann_file``).

    Args:
        cfg (Config | dict): The config.
        loader (str): ``'train_dataloader'``, ``'val_dataloader'`` or
            ``'test_dataloader'``.

    Returns:
        str | None: The split path.
    """
    dataset = _innermost_dataset(_get(_get(cfg, loader), 'dataset'))
    ann_file = _get(dataset, 'ann_file')
    if not ann_file:
        return None
    root = _get(dataset, 'data_root') or ''
    path = ann_file if osp.isabs(ann_file) else osp.join(root, ann_file)
    return osp.normpath(path)


def normalize_stats_files(cfg: Any, loader: str) -> list[str]:
    """``stats_file`` of every ``ZeroIgnoringNormalize`` in a dataloader's
    pipelines (those with explicit mean and std are left out).

    Args:
        cfg (Config | dict): The config.
        loader (str): A dataloader key of ``cfg``.

    Returns:
        list[str]: Normalised paths, in pipeline order.
    """
    out = []
    for pipeline in _pipelines(_get(_get(cfg, loader), 'dataset')):
        for t in pipeline:
            if str(_get(t, 'type', '')).split('.')[-1] != NORMALIZE:
                continue
            if _get(t, 'mean') is not None and _get(t, 'std') is not None:
                continue
            if _get(t, 'stats_file'):
                out.append(osp.normpath(t['stats_file']))
    return out


def _save_best(cfg: Any) -> Any:
    """``save_best`` of the config's CheckpointHook, wherever it is."""
    hooks = [h for h in (_get(cfg, 'default_hooks') or {}).values()]
    hooks += list(_get(cfg, 'custom_hooks') or [])
    for hook in hooks:
        if str(_get(hook, 'type', '')).split('.')[-1] == 'CheckpointHook' \
                and _get(hook, 'save_best'):
            return hook['save_best']
    return None


def check_config_leaks(cfg: Any, check_files: bool = False) -> list[str]:
    """What in ``cfg`` lets held-out data reach training or selection.

    Problems found (each one line naming the config and the fix):

    - ``save_best`` is set and val and test read the same split (the kept
      checkpoint would be chosen on test);
    - a ``ZeroIgnoringNormalize`` of train, val or test (or the top-level
      ``stats_file``) reads statistics other than the training split's own
      ``<dir>/<train>.stats.json``;
    - with ``check_files``: those statistics were not computed on the
      training split as it is now (sha256 recorded in the JSON, see
      :func:`~mmdet_inbreast.datasets.stats.check_stats_split`), or cannot
      be read.

    Args:
        cfg (Config | dict): The config (as loaded, or as a run resolved
            it, e.g. after ``--data-root``).
        check_files (bool): Also read the split and statistics files.
            Defaults to False (the config alone: for configs whose release
            is not on this machine).

    Returns:
        list[str]: The problems; empty when none.
    """
    from ..datasets.stats import check_stats_split, stats_path_for_split
    from .errors import InputError

    name = getattr(cfg, 'filename', None) or 'config'
    problems = []
    train = dataset_split(cfg, 'train_dataloader')
    val = dataset_split(cfg, 'val_dataloader')
    test = dataset_split(cfg, 'test_dataloader')
    save_best = _save_best(cfg)
    if save_best and val is not None and val == test:
        problems.append(
            f'{name}: the best checkpoint ({save_best}) is chosen on '
            f'{val}, which is also the test split; validate on a val split '
            'carved by patient from the training portion '
            '(tools/split_patients.py --val-fraction)')
    if train is None:
        return problems

    own = osp.normpath(stats_path_for_split(train))
    used: dict[str, list[str]] = {}
    top = _get(cfg, 'stats_file')
    if top:
        used.setdefault(osp.normpath(top), []).append('stats_file')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for path in normalize_stats_files(cfg, loader):
            where = f'{loader} {NORMALIZE}'
            if where not in used.setdefault(path, []):
                used[path].append(where)
    for path, where in used.items():
        if path != own:
            problems.append(
                f'{name}: {", ".join(where)} read {path}, not the statistics '
                f'of the training split {train} ({own}); set stats_file to '
                f'{own}')
    if check_files:
        for path in sorted(used):
            try:
                check_stats_split(path, train)
            except InputError as e:
                problems.append(f'{name}: {e}')
    return problems
