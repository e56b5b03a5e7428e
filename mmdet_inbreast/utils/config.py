"""Config helpers shared by tools/train.py, tools/test.py and the demo, and
the ``workdir://`` checkpoint scheme of ``load_from``."""
from __future__ import annotations

import os.path as osp
from typing import Any, Optional

from mmengine.config import Config, ConfigDict

from .errors import InputError


def _walk(node: Any):
    """Yield every dict inside a config (depth first)."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from _walk(v)


def set_data_root(cfg: Config, data_root: Optional[str] = None,
                  stats_file: Optional[str] = None) -> Config:
    """Point every dataset of ``cfg`` at ``data_root`` and every
    ``ZeroIgnoringNormalize`` at ``stats_file``.

    ``--cfg-options data_root=...`` alone only changes the top-level
    variable, not the dataset dicts that copied it when the config was
    parsed; this carries it everywhere. When only ``data_root`` is given,
    stats files that lived under the old data root move with it.

    Args:
        cfg (Config): The config, changed in place.
        data_root (str, optional): New release folder.
        stats_file (str, optional): New statistics JSON.

    Returns:
        Config: ``cfg``.
    """
    old_root = cfg.get('data_root')
    if data_root is not None:
        data_root = osp.join(data_root, '')
        cfg.data_root = data_root
    if stats_file is None and data_root is not None and old_root and \
            str(cfg.get('stats_file', '')).startswith(old_root):
        stats_file = data_root + cfg.stats_file[len(old_root):]
    if stats_file is not None:
        cfg.stats_file = stats_file
    for d in _walk(cfg._cfg_dict):
        if data_root is not None and 'data_root' in d and 'type' in d:
            d['data_root'] = data_root
        if stats_file is not None and d.get('type') == 'ZeroIgnoringNormalize':
            d['stats_file'] = stats_file
    return cfg


def apply_cfg_options(cfg: Config, options: Optional[dict]) -> Config:
    """``cfg.merge_from_dict(options)``, then carry top-level ``data_root``
    and ``stats_file`` options into the datasets and pipelines.

    Args:
        cfg (Config): The config, changed in place.
        options (dict, optional): ``--cfg-options`` as parsed by
            ``mmengine.DictAction``.

    Returns:
        Config: ``cfg``.
    """
    if not options:
        return cfg
    options = dict(options)
    data_root = options.pop('data_root', None)
    stats_file = options.pop('stats_file', None)
    if options:
        cfg.merge_from_dict(options)
    if data_root is not None or stats_file is not None:
        set_data_root(cfg, data_root, stats_file)
    return cfg


#: ``load_from = 'workdir://work_dirs/retina_patch'`` loads the checkpoint
#: that folder's ``last_checkpoint`` names (mmengine checkpoint scheme).
WORK_DIR_SCHEME = 'workdir://'


def work_dir_checkpoint(work_dir: str) -> str:
    """The checkpoint a training work dir's ``last_checkpoint`` names.

    mmengine writes ``last_checkpoint`` (one line: the path of the newest
    checkpoint) after each save. When the file it names is missing or
    damaged (the folder was moved, a save was cut short), the newest intact
    ``epoch_N.pth`` of ``work_dir`` is used and the log says so
    (:func:`~mmdet_inbreast.engine.find_resume_checkpoint`).

    Args:
        work_dir (str): A ``work_dir`` of a finished (or running) training.

    Returns:
        str: The checkpoint file.

    Raises:
        InputError: If ``work_dir`` is not a folder or holds no intact
            checkpoint.
    """
    from ..engine.resume import find_resume_checkpoint
    if not osp.isdir(work_dir):
        raise InputError(
            f'{work_dir}: load_from names this work dir, which does not '
            'exist; train phase 1 into it first (python tools/train.py '
            'configs/retina_patch.py) or set load_from to a .pth file')
    ckpt = find_resume_checkpoint(work_dir)
    if ckpt is None:
        raise InputError(
            f"{work_dir}: no 'last_checkpoint' file and no epoch_N.pth (no "
            'epoch of this training has been saved); train phase 1 into it '
            'first or set load_from to a .pth file')
    return ckpt


def load_from_work_dir(filename: str, map_location=None):
    """mmengine checkpoint loader of the ``workdir://`` scheme: loads the
    checkpoint of :func:`work_dir_checkpoint` with mmengine's local loader
    (the package's safe one once ``mmdet_inbreast`` is imported)."""
    from mmengine.runner.checkpoint import CheckpointLoader
    ckpt = work_dir_checkpoint(filename[len(WORK_DIR_SCHEME):])
    return CheckpointLoader.load_checkpoint(ckpt, map_location)


def register_work_dir_scheme() -> None:
    """Register :func:`load_from_work_dir` for ``workdir://`` with
    mmengine's ``CheckpointLoader`` (done when ``mmdet_inbreast`` is
    imported): ``Runner.from_cfg``, mmdet's ``tools/train.py`` and this
    project's tools then all accept ``load_from = 'workdir://DIR'``."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(
        prefixes=WORK_DIR_SCHEME, loader=load_from_work_dir, force=True)


def resolve_load_from(cfg: Config) -> Config:
    """Replace a work-dir ``load_from`` (``'workdir://DIR'``, or a bare
    folder) by the checkpoint its ``last_checkpoint`` names, so that the log
    and the dumped config show the file that was loaded.

    mmengine resolves ``workdir://`` itself (:func:`register_work_dir_scheme`);
    this only fails earlier, before the model is built, and records the
    file.

    Args:
        cfg (Config): The config, changed in place.

    Returns:
        Config: ``cfg``.

    Raises:
        InputError: See :func:`work_dir_checkpoint`.
    """
    load_from = cfg.get('load_from')
    if not load_from:
        return cfg
    if load_from.startswith(WORK_DIR_SCHEME):
        cfg.load_from = work_dir_checkpoint(load_from[len(WORK_DIR_SCHEME):])
    elif osp.isdir(load_from):
        cfg.load_from = work_dir_checkpoint(load_from)
    return cfg


register_work_dir_scheme()


def set_work_dir(cfg: Config, config_path: str,
                 work_dir: Optional[str] = None) -> Config:
    """mmdet's rule: ``--work-dir``, else the config's ``work_dir``, else
    ``./work_dirs/<config name>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config_path))[0])
    return cfg


def to_plain(obj: Any) -> Any:
    """ConfigDict -> dict recursively (for JSON dumps)."""
    if isinstance(obj, (ConfigDict, dict)):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    return obj


def add_config_args(parser) -> None:
    """The arguments ``tools/train.py`` and ``tools/test.py`` share after
    mmdet's: ``--cfg-options``, ``--data-root``, ``--stats-file``,
    ``--launcher``, ``--local_rank``."""
    from mmengine.config import DictAction
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value (data_root=DIR and '
        'stats_file=FILE reach every dataset and pipeline)')
    parser.add_argument(
        '--data-root', help='release folder for every dataset of the config '
        "(use this for paths with spaces such as 'INbreast Release 1.0': "
        '--cfg-options strips spaces)')
    parser.add_argument('--stats-file',
                        help='zero-ignoring statistics JSON for every '
                        'ZeroIgnoringNormalize (default: moves with '
                        '--data-root)')
    parser.add_argument('--launcher',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args) -> Config:
    """The config of ``args.config`` with the arguments of
    :func:`add_config_args` and ``--work-dir`` applied (and ``LOCAL_RANK``
    set from ``--local_rank`` when the launcher did not set it).

    Returns:
        Config: The config, ready for ``Runner.from_cfg``.
    """
    import os
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    apply_cfg_options(cfg, args.cfg_options)
    if args.data_root or args.stats_file:
        set_data_root(cfg, args.data_root, args.stats_file)
    return set_work_dir(cfg, args.config, args.work_dir)


def write_metrics(metrics: dict, path: str) -> None:
    """Write a metrics dict (numpy/torch scalars allowed) to JSON."""
    import json
    import os
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump({k: float(v) if hasattr(v, '__float__') else v
                   for k, v in metrics.items()}, f, indent=2)
