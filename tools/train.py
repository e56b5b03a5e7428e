"""Train a detector with mmdet-inbreast's components registered.

Same flags and behaviour as mmdet's ``tools/train.py``, plus
``--amp-dtype`` (bfloat16 or float16), ``data_root=``/``stats_file=`` in
``--cfg-options`` carried into every dataset and pipeline, and
``load_from`` naming a work dir. ``--launcher pytorch`` also runs on
machines without CUDA (``tools/dist_train.sh`` on CPUs, with
``--cfg-options env_cfg.dist_cfg.backend=gloo``), which mmengine's launcher
does not: see :func:`mmdet_inbreast.engine.init_cpu_dist`.

Example:
    python tools/train.py configs/retina_patch.py \
        --data-root "data/synthetic/INbreast Release 1.0"
"""
import argparse
import os

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmdet_inbreast  # noqa: F401  (registers the components)
from mmdet_inbreast.engine import init_cpu_dist, setup_amp
from mmdet_inbreast.utils import (apply_cfg_options, resolve_load_from,
                                  set_data_root, set_work_dir)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp', action='store_true',
                        help='enable automatic-mixed-precision training')
    parser.add_argument('--amp-dtype', choices=['bfloat16', 'float16'],
                        help='autocast dtype (implies --amp); bfloat16 swaps '
                        "mmdet's FocalLoss for SigmoidFocalLoss")
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by the total batch size')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or from the latest one in '
        'the work dir if no path is given')
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
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    apply_cfg_options(cfg, args.cfg_options)
    if args.data_root or args.stats_file:
        set_data_root(cfg, args.data_root, args.stats_file)
    set_work_dir(cfg, args.config, args.work_dir)
    if args.amp or args.amp_dtype or cfg.get('amp_dtype'):
        setup_amp(cfg, args.amp_dtype)
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in \
                cfg.auto_scale_lr:
            raise RuntimeError('auto_scale_lr (with base_batch_size) is not '
                               'in the config: cannot scale the lr')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    else:
        resolve_load_from(cfg)
    if args.launcher == 'pytorch' and not torch.cuda.is_available():
        init_cpu_dist(cfg)
    runner = (Runner.from_cfg(cfg) if 'runner_type' not in cfg else
              RUNNERS.build(cfg))
    runner.train()


if __name__ == '__main__':
    main()
