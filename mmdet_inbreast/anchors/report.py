"""Default-versus-optimised comparison: JSON payload and stdout table."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from .io import config_snippet, write_json, write_text
from .optimizer import (AnchorEvaluation, AnchorResult, default_anchors,
                        evaluate_anchors)

MODES = ('stride_free', 'grid')
MODE_TITLES = dict(stride_free='stride-free', grid='on the anchor grid')


def compare_with_default(
        boxes: np.ndarray,
        result: AnchorResult,
        image_sizes: Optional[np.ndarray] = None,
        pos_iou_thr: float = 0.5) -> Dict[str, Dict[str, AnchorEvaluation]]:
    """Score mmdet's default anchors and the result in both modes.

    Args:
        boxes (np.ndarray): ``(N, 4)`` x1, y1, x2, y2 pixels.
        result (AnchorResult): Output of :func:`~.optimizer.optimize_anchors`.
        image_sizes (np.ndarray, optional): ``(N, 2)`` (height, width)
            bounding the grid. Defaults to None.
        pos_iou_thr (float): Positive threshold. Defaults to 0.5.

    Returns:
        dict: ``{mode: {'default': AnchorEvaluation, 'optimised': ...}}`` for
        ``mode`` in ``('stride_free', 'grid')``, scored with the result's
        objective.
    """
    d_ratios, d_scales = default_anchors()
    out = {}
    for mode in MODES:
        kw = dict(
            strides=result.strides,
            with_stride=mode == 'grid',
            objective=result.objective,
            image_sizes=image_sizes,
            pos_iou_thr=pos_iou_thr)
        out[mode] = dict(
            default=evaluate_anchors(boxes, d_ratios, d_scales, **kw),
            optimised=evaluate_anchors(boxes, result.ratios, result.scales,
                                       **kw))
    return out


def build_payload(result: AnchorResult,
                  comparison: Dict[str, Dict[str, AnchorEvaluation]],
                  num_boxes: int,
                  source: str,
                  command: str,
                  pos_iou_thr: float = 0.5) -> dict:
    """Everything ``anchors.json`` holds.

    Top-level ``mean_best_iou``, ``unmatched`` and ``objective_value`` are
    the optimised anchors in the search mode (``mode``); ``default`` has the
    same three for mmdet's default anchors in that mode; ``comparison`` has
    both sets in both modes.

    Args:
        result (AnchorResult): The search result.
        comparison (dict): Output of :func:`compare_with_default`.
        num_boxes (int): Boxes used.
        source (str): Where the boxes came from.
        command (str): Command line that produced the result.
        pos_iou_thr (float): Positive threshold. Defaults to 0.5.

    Returns:
        dict: JSON-ready payload.
    """
    mode = 'grid' if result.with_stride else 'stride_free'
    d_ratios, d_scales = default_anchors()
    space = result.space
    return dict(
        ratios=result.ratios,
        scales=result.scales,
        strides=result.strides,
        objective=result.objective,
        mode=mode,
        **comparison[mode]['optimised'].figures(),
        default=dict(
            ratios=d_ratios.tolist(),
            scales=[round(float(s), 6) for s in d_scales],
            **comparison[mode]['default'].figures()),
        comparison={
            m: {
                k: ev.figures()
                for k, ev in sets.items()
            }
            for m, sets in comparison.items()
        },
        pos_iou_thr=pos_iou_thr,
        seed=result.seed,
        num_boxes=num_boxes,
        boxes=source,
        search=dict(
            num_ratios=space.num_ratios,
            num_scales=space.num_scales,
            ratio_bounds=list(space.ratio_bounds),
            scale_bounds=list(space.scale_bounds),
            symmetric_ratios=space.symmetric_ratios,
            num_evaluations=result.num_evaluations,
            at_bounds=result.at_bounds),
        command=command)


def format_table(comparison: Dict[str, Dict[str, AnchorEvaluation]],
                 objective: str, num_boxes: int) -> str:
    """Side-by-side table: default vs optimised, stride-free and on the grid.

    Args:
        comparison (dict): Output of :func:`compare_with_default`.
        objective (str): Objective name (column title).
        num_boxes (int): Boxes used (for ``unmatched`` as ``k/N``).

    Returns:
        str: A few lines of fixed-width text.
    """
    cols = f'{"mean IoU":>9} {"unmatched":>10} {objective:>10}'
    head1 = f'{"":14}' + ''.join(f' | {MODE_TITLES[m]:^31}' for m in MODES)
    head2 = f'{"anchors":14}' + f' | {cols}' * len(MODES)
    rows = [head1, head2, '-' * len(head2)]
    for key, title in (('default', 'mmdet default'), ('optimised',
                                                      'optimised')):
        cells = []
        for m in MODES:
            ev = comparison[m][key]
            unmatched = f'{ev.unmatched}/{num_boxes}'
            cells.append(f' | {ev.mean_best_iou:9.4f} {unmatched:>10} '
                         f'{ev.objective_value:10.5f}')
        rows.append(f'{title:14}' + ''.join(cells))
    return '\n'.join(rows)


def describe(values: Sequence[float]) -> str:
    """``0.7159, 1, 1.397``: short human form of a list."""
    return ', '.join(f'{v:.4g}' for v in values)


def snippet_header(result: AnchorResult,
                   comparison: Dict[str, Dict[str, AnchorEvaluation]],
                   num_boxes: int,
                   source: str,
                   command: str,
                   pos_iou_thr: float = 0.5,
                   has_base: bool = False) -> List[str]:
    """Comment lines for ``anchors.py``: provenance, command, figures, use."""
    search = 'grid' if result.with_stride else 'stride_free'
    lines = [
        f'Anchors optimised by tools/optimize_anchors.py on {num_boxes} boxes '
        f'({source}):',
        f'  {command}',
    ]
    for mode in MODES:
        o, d = comparison[mode]['optimised'], comparison[mode]['default']
        lines.append(
            f'  {MODE_TITLES[mode]}: mean best IoU mmdet default '
            f'{d.mean_best_iou:.4f} -> {o.mean_best_iou:.4f}, unmatched '
            f'(best IoU < {pos_iou_thr:g}) {d.unmatched} -> {o.unmatched}'
            f'{"  (searched)" if mode == search else ""}')
    if has_base:
        lines.append('Use: a complete config (its _base_ plus these anchors): '
                     'train with it or inherit from it.')
    else:
        lines += [
            'Use: a fragment that sets only model.bbox_head.anchor_generator: '
            'inherit it from a',
            'config that has no other _base_ setting `model` (mmengine '
            'refuses duplicate keys',
            'among bases), merge it (cfg.merge_from_dict(Config.fromfile('
            'this).to_dict())), or',
            'rerun with --base CONFIG to get a complete config.',
        ]
    return lines


def write_outputs(out_dir: str,
                  boxes: np.ndarray,
                  result: AnchorResult,
                  comparison: Dict[str, Dict[str, AnchorEvaluation]],
                  payload: dict,
                  pos_iou_thr: float = 0.5,
                  base: Optional[str] = None) -> List[str]:
    """Write ``anchors.json``, ``anchors.py`` and ``anchors.png``.

    Args:
        out_dir (str): Output folder (created).
        boxes (np.ndarray): ``(N, 4)`` boxes the result was fitted to.
        result (AnchorResult): The search result.
        comparison (dict): Output of :func:`compare_with_default`.
        payload (dict): Output of :func:`build_payload`.
        pos_iou_thr (float): Positive threshold. Defaults to 0.5.
        base (str, optional): Config that ``anchors.py`` inherits
            (``_base_``, written relative to ``out_dir``), or None for a
            fragment. Defaults to None.

    Returns:
        list[str]: The three paths written.
    """
    from .plot import plot_anchor_shapes

    paths = [
        osp.join(out_dir, f'anchors.{ext}') for ext in ('json', 'py', 'png')
    ]
    write_json(paths[0], payload)
    header = snippet_header(
        result,
        comparison,
        payload['num_boxes'],
        payload['boxes'],
        payload['command'],
        pos_iou_thr,
        has_base=base is not None)
    rel_base = None
    if base is not None:
        rel_base = osp.relpath(osp.abspath(base), osp.abspath(out_dir))
    write_text(
        paths[1],
        config_snippet(result.ratios, result.scales, result.strides, header,
                       rel_base))
    search = 'grid' if result.with_stride else 'stride_free'
    d_ratios, d_scales = default_anchors()
    panels = []
    for key, name, ratios, scales in (('default', 'mmdet default', d_ratios,
                                       d_scales),
                                      ('optimised', 'optimised', result.ratios,
                                       result.scales)):
        ev = comparison[search][key]
        panels.append(
            dict(
                name=name,
                ratios=ratios,
                scales=scales,
                best_iou=ev.best_iou,
                mean_best_iou=ev.mean_best_iou))
    plot_anchor_shapes(
        paths[2],
        boxes,
        panels,
        result.strides,
        pos_iou_thr,
        title=f'{len(boxes)} boxes, best IoU '
        f'{MODE_TITLES[search]}')
    return paths
