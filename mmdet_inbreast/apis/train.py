"""Train a detector with mmdet-inbreast's components registered.

Same flags and behaviour as mmdet's ``tools/train.py``, plus
``--amp-dtype`` (bfloat16 or float16), ``data_root=``/``stats_file=`` in
``--cfg-options`` carried into every dataset and pipeline, and
``load_from`` naming a work dir. ``--launcher pytorch`` also runs on
machines without CUDA (``tools/dist_train.sh`` on CPUs, with
``--cfg-options env_cfg.dist_cfg.backend=gloo``), which mmengine's launcher
does not: see :func:`mmdet_inbreast.engine.init_cpu_dist`.

``tools/train.py`` calls :func:`main`; code that starts a training run in a
new process runs this module::

    python -m mmdet_inbreast.apis.train configs/retina_patch.py \
        --data-root "data/synthetic/INbreast Release 1.0"
"""
from __future__ import annotations

import argparse
from typing import Optional, Sequence

from mmdet_inbreast.utils.cli import run_tool
from mmdet_inbreast.utils.errors import InputError


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line of a training run (``argv``: default
    ``sys.argv[1:]``)."""
    from mmdet_inbreast.utils import add_config_args
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp', action='store_true',
                        help='enable automatic-mixed-precision training')
    parser.add_argument('--amp-dtype', choices=['bfloat16', 'float16'],
                        help='autocast dtype (implies --amp); bfloat16 swaps '
                        "mmdet's FocalLoss for TorchSigmoidFocalLoss")
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by the total batch size')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or from the latest one in '
        'the work dir if no path is given')
    add_config_args(parser)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Build the runner from the config and train.

    Args:
        argv (Sequence[str], optional): Command-line arguments. Defaults to
            ``sys.argv[1:]``.
    """
    import torch
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    import mmdet_inbreast  # noqa: F401  (registers the components)
    from mmdet_inbreast.engine import init_cpu_dist, setup_amp
    from mmdet_inbreast.utils import load_config, resolve_load_from

    args = parse_args(argv)
    cfg = load_config(args)
    if args.amp or args.amp_dtype or cfg.get('amp_dtype'):
        setup_amp(cfg, args.amp_dtype)
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in \
                cfg.auto_scale_lr:
            raise InputError(
                f'{args.config}: --auto-scale-lr needs auto_scale_lr '
                '(with base_batch_size) in the config; add it or drop the '
                'flag')
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
    run_tool(main)
