"""Optimise RetinaNet anchor ratios and scales for mmdet's AnchorGenerator.

Reads the ground-truth boxes of a config's training split after its
training geometry (``--config``: the first ``Resize``, and what
``MassPreservingRandomCrop`` does to masses larger than its crop), or of a
CSV (``--boxes``, ``file_name,x1,y1,x2,y2`` pixels), searches ratios
and scales with differential evolution (:mod:`mmdet_inbreast.anchors`), and
writes to ``--out-dir``:

- ``anchors.json``: ratios (h/w), scales (multipliers of the stride),
  strides, objective, mean best IoU and unmatched boxes (best IoU < 0.5) for
  the optimised and for mmdet's default anchors, stride-free and on the real
  anchor grid, and the seed;
- ``anchors.py``: a config that sets ``model.bbox_head.anchor_generator``
  and inherits ``--base`` (default ``--config``), or a fragment without
  ``_base_`` when neither is given;
- ``anchors.png``: box widths/heights against both anchor sets.

With ``--boxes`` only, mmdet and torch are never imported: the
``mmdet_inbreast.anchors`` subpackage is loaded under a bare stand-in for
the ``mmdet_inbreast`` package (see :func:`load_anchor_package`), because
importing the package itself registers components with mmdet (about 2.7 s).

Only the training split's boxes are used with ``--config``: val and test
masses never shape the anchors.

Example:
    python tools/optimize_anchors.py --config configs/retina_patch.py --data-root "data/INbreast Release 1.0" --out-dir work_dirs/anchors9 --num-ratios 3 --num-scales 3 --with-stride --seed 0
    python tools/optimize_anchors.py --boxes boxes.csv --out-dir work_dirs/anchors_csv --with-stride
"""
import argparse
import importlib
import importlib.util
import shlex
import sys
import types


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Optimise RetinaNet anchors (ratios, scales) for '
        "mmdet's AnchorGenerator")
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument(
        '--config',
        help="config whose training split's boxes (after the training "
        "pipeline's Resize and crop) are used")
    src.add_argument(
        '--boxes',
        help='CSV with header file_name,x1,y1,x2,y2 '
        '(pixels; optional height,width columns bound the grid); make sure '
        'it holds training boxes only')
    parser.add_argument(
        '--out-dir',
        required=True,
        help='folder for anchors.json, anchors.py, anchors.png')
    parser.add_argument('--num-ratios', type=int, default=3)
    parser.add_argument('--num-scales', type=int, default=3)
    parser.add_argument(
        '--objective', default='focal', choices=['focal', 'avg', 'unmatched'])
    parser.add_argument(
        '--with-stride',
        action='store_true',
        help='score anchors on the real grid of each FPN '
        'level (boxes at their positions); default: each box '
        'centred on its best anchor')
    parser.add_argument(
        '--image-scale',
        type=float,
        default=1.0,
        help='multiply the boxes by this factor (a fixed '
        'resize the CSV does not include)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--strides', type=int, nargs='+', default=[8, 16, 32, 64, 128])
    for flag, default, what in (
            ('--ratio-bounds', [1.0, 4.0],
             'a ratio r >= 1 (h/w; 1/r is added)'),
            ('--scale-bounds', [1.0, 64.0],
             'a scale (multiplier of the stride)')):
        parser.add_argument(flag, type=float, nargs=2, default=default,
                            metavar=('LO', 'HI'), help=f'bounds of {what}')
    parser.add_argument(
        '--asymmetric-ratios',
        action='store_true',
        help='free ratios instead of r, 1/r pairs (+1)')
    parser.add_argument(
        '--pos-iou-thr',
        type=float,
        default=0.5,
        help="assigner's positive IoU threshold")
    parser.add_argument(
        '--restarts',
        type=int,
        default=1,
        help='independent searches; the best is kept')
    parser.add_argument(
        '--popsize',
        type=int,
        default=15,
        help='differential-evolution population multiplier')
    parser.add_argument(
        '--base',
        default=None,
        help='config that anchors.py inherits (_base_); '
        'defaults to --config; without either anchors.py is '
        'a fragment')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=None,
        metavar='KEY=VALUE',
        help='overrides for --config (mmengine syntax; '
        'data_root=DIR reaches every dataset)')
    parser.add_argument(
        '--data-root',
        help='release folder for --config '
        '(for paths with spaces)')
    return parser.parse_args()


def _stand_in(name: str, folder: list) -> None:
    """Put a bare package ``name`` with ``__path__ = folder`` in
    ``sys.modules`` (its ``__init__`` is not run)."""
    stub = types.ModuleType(name)
    stub.__path__ = list(folder)
    stub.__doc__ = 'stand-in for the anchor tool; registers nothing'
    sys.modules[name] = stub


def load_anchor_package(with_mmdet: bool) -> types.ModuleType:
    """Import ``mmdet_inbreast.anchors``, without mmdet unless asked.

    Python runs a parent package's ``__init__`` before any subpackage, and
    ``mmdet_inbreast/__init__.py`` imports mmdet and torch to register
    components (``mmdet_inbreast/utils/__init__.py`` imports mmengine).
    ``importlib.util.find_spec`` locates the package folder without
    executing it; bare modules with those ``__path__`` placed in
    ``sys.modules`` let ``mmdet_inbreast.anchors`` (numpy/scipy only) and
    ``mmdet_inbreast.utils.cli``/``errors`` load on their own. With
    ``with_mmdet`` (``--config``) the real package is imported instead.

    Args:
        with_mmdet (bool): Import the real package (registration) first.

    Returns:
        types.ModuleType: ``mmdet_inbreast.anchors``.
    """
    if with_mmdet or 'mmdet_inbreast' in sys.modules:
        importlib.import_module('mmdet_inbreast')
    else:
        spec = importlib.util.find_spec('mmdet_inbreast')
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit('mmdet_inbreast is not installed; run '
                             '`pip install -e .` in the repository')
        folder = list(spec.submodule_search_locations)
        _stand_in('mmdet_inbreast', folder)
        _stand_in('mmdet_inbreast.utils',
                  [f'{f}/utils' for f in folder])
    return importlib.import_module('mmdet_inbreast.anchors')


def main() -> None:
    args = parse_args()
    anchors = load_anchor_package(with_mmdet=args.config is not None)
    if args.config:
        box_set = anchors.boxes_from_config(args.config, args.cfg_options,
                                            args.data_root)
    else:
        box_set = anchors.load_boxes_csv(args.boxes)
    if args.image_scale != 1.0:
        box_set = box_set.scaled(args.image_scale)
    command = 'python tools/optimize_anchors.py ' + ' '.join(
        shlex.quote(a) for a in sys.argv[1:])
    mode = 'on the real anchor grid' if args.with_stride else 'stride-free'
    print(f'{len(box_set.boxes)} boxes from {box_set.source}; '
          f'{args.num_ratios} ratios x {args.num_scales} scales, '
          f'objective {args.objective}, {mode}, seed {args.seed}')

    result = anchors.optimize_anchors(
        box_set.boxes,
        num_ratios=args.num_ratios,
        num_scales=args.num_scales,
        objective=args.objective,
        with_stride=args.with_stride,
        strides=args.strides,
        ratio_bounds=tuple(args.ratio_bounds),
        scale_bounds=tuple(args.scale_bounds),
        symmetric_ratios=not args.asymmetric_ratios,
        image_sizes=box_set.image_sizes,
        pos_iou_thr=args.pos_iou_thr,
        seed=args.seed,
        restarts=args.restarts,
        popsize=args.popsize,
        progress=print)
    comparison = anchors.compare_with_default(box_set.boxes, result,
                                              box_set.image_sizes,
                                              args.pos_iou_thr)
    payload = anchors.build_payload(result, comparison, len(box_set.boxes),
                                    box_set.source, command, args.pos_iou_thr)

    paths = anchors.write_outputs(
        args.out_dir,
        box_set.boxes,
        result,
        comparison,
        payload,
        args.pos_iou_thr,
        base=args.base or args.config)

    print(f'ratios (h/w): {anchors.report.describe(result.ratios)}')
    print(f'scales (x stride {result.strides}): '
          f'{anchors.report.describe(result.scales)}')
    print(anchors.format_table(comparison, args.objective, len(box_set.boxes)))
    print('wrote ' + ', '.join(paths))


if __name__ == '__main__':
    # The stand-ins must be in place before run_tool is imported (with
    # --boxes, importing mmdet_inbreast.utils would import mmengine).
    load_anchor_package(with_mmdet=any(
        a == '--config' or a.startswith('--config=') for a in sys.argv))
    from mmdet_inbreast.utils.cli import run_tool
    run_tool(main)
