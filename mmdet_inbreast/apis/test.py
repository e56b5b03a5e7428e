"""Test (evaluate) a checkpoint with mmdet-inbreast's components registered.

Same flags and behaviour as mmdet's ``tools/test.py`` (``--out``,
``--show-dir``, ``--cfg-options`` with ``data_root=``/``stats_file=``
carried everywhere), plus ``--metrics-out`` (the test metrics as JSON).
The FROC curve goes to ``<work_dir>/test/froc.froc.json`` (unless the
config's ``FROCMetric`` names an ``outfile_prefix``), which
``tools/plot_froc.py`` draws.
``--out predictions.pkl`` dumps every test image's data sample (predicted
boxes in original pixels, ``img_id``, ``patient_id`` and the ground truth
``instances``) with mmdet's ``DumpDetResults``; studies pool these.

``tools/test.py`` calls :func:`main`; code that starts a test run in a new
process runs this module::

    python -m mmdet_inbreast.apis.test configs/retina_full.py \
        work_dirs/retina_full/epoch_12.pth --out predictions.pkl
"""
from __future__ import annotations

import argparse
import os.path as osp
from typing import Optional, Sequence

from mmdet_inbreast.utils.cli import run_tool
from mmdet_inbreast.utils.errors import InputError


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line of a test run (``argv``: default ``sys.argv[1:]``)."""
    from mmdet_inbreast.utils import add_config_args
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save the metrics')
    parser.add_argument('--out', type=str,
                        help='dump predictions to a pickle file')
    parser.add_argument('--metrics-out',
                        help='also write the test metrics to this JSON file')
    parser.add_argument('--show', action='store_true',
                        help='show prediction results')
    parser.add_argument('--show-dir',
                        help='folder (inside the work dir\'s timestamp '
                        'folder) for painted images: ground truth and '
                        'predictions')
    parser.add_argument('--wait-time', type=float, default=2)
    add_config_args(parser)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Build the runner from the config and test the checkpoint.

    Args:
        argv (Sequence[str], optional): Command-line arguments. Defaults to
            ``sys.argv[1:]``.

    Returns:
        dict: The test metrics.
    """
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    import mmdet_inbreast  # noqa: F401  (registers the components)
    from mmdet_inbreast.utils import load_config, write_metrics

    args = parse_args(argv)
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise InputError(f'--out {args.out}: must be a .pkl file; name it '
                         'e.g. predictions.pkl')
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        hook = cfg.default_hooks.visualization
        hook.draw = True
        if args.show:
            hook.show = True
            hook.wait_time = args.wait_time
        if args.show_dir:
            hook.test_out_dir = args.show_dir
    cfg.test_evaluator = list(cfg.test_evaluator) if isinstance(
        cfg.test_evaluator, (list, tuple)) else [cfg.test_evaluator]
    for metric in cfg.test_evaluator:
        # The FROC curve and points, for tools/plot_froc.py.
        if metric.get('type') == 'FROCMetric' and \
                metric.get('outfile_prefix') is None:
            metric['outfile_prefix'] = osp.join(cfg.work_dir, 'test', 'froc')
    if args.out is not None:
        cfg.test_evaluator.append(
            dict(type='DumpDetResults', out_file_path=args.out))
    runner = (Runner.from_cfg(cfg) if 'runner_type' not in cfg else
              RUNNERS.build(cfg))
    metrics = runner.test()
    if args.metrics_out:
        write_metrics(metrics, args.metrics_out)
    return metrics


if __name__ == '__main__':
    run_tool(main)
