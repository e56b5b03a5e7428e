"""Reading boxes and writing the anchor tool's results.

Input: a CSV with header ``file_name,x1,y1,x2,y2`` (more columns are allowed;
optional ``height,width`` columns give each image's size, which bounds the
anchor grid). Output: ``anchors.json`` and a config snippet ``anchors.py``
that sets ``model.bbox_head.anchor_generator``.
"""
import csv
import json
import os
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

from ..utils.errors import InputError

REQUIRED_COLUMNS = ('file_name', 'x1', 'y1', 'x2', 'y2')


@dataclass
class BoxSet:
    """Ground-truth boxes as the anchor optimiser takes them.

    Args:
        boxes (np.ndarray): float64 ``(N, 4)`` x1, y1, x2, y2 in pixels of
            the image the model sees.
        file_names (list[str]): Image of each box, length ``N``.
        image_sizes (np.ndarray, optional): float64 ``(N, 2)`` (height,
            width) of each box's image, or None when unknown.
        source (str): Where the boxes came from (for messages and JSON).
    """
    boxes: np.ndarray
    file_names: List[str]
    image_sizes: Optional[np.ndarray]
    source: str

    def scaled(self, factor: float) -> 'BoxSet':
        """The same boxes (and image sizes) multiplied by ``factor``."""
        if not factor > 0:
            raise ValueError(f'image scale must be > 0, got {factor}')
        sizes = None if self.image_sizes is None else self.image_sizes * factor
        return BoxSet(self.boxes * factor, list(self.file_names), sizes,
                      f'{self.source} x {factor:g}')


def _parse_float(path: str, line: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise InputError(f'{path}: line {line}: {column}={text!r} is not a '
                         f'number; boxes are pixel coordinates') from None
    if not np.isfinite(value):
        raise InputError(f'{path}: line {line}: {column}={text!r} is not '
                         f'finite')
    return value


def load_boxes_csv(path: str) -> BoxSet:
    """Read boxes from a CSV with header ``file_name,x1,y1,x2,y2``.

    Every row counts: a 0 coordinate (a box touching the image border) is a
    valid box, unlike in keras-retinanet's anchor tool, which skips it.

    Args:
        path (str): CSV file; columns ``file_name, x1, y1, x2, y2`` in
            pixels (x to the right, y down), optionally ``height, width`` of
            the image.

    Returns:
        BoxSet: The boxes in file order.

    Raises:
        InputError: ``path`` does not exist, missing columns, a
            non-number, or an empty box (``x2 <= x1`` or ``y2 <= y1``),
            naming the line.
    """
    if not osp.isfile(path):
        raise InputError(f'{path}: no such box CSV; pass --boxes with '
                                f'a file_name,x1,y1,x2,y2 CSV or use --config')
    with open(path, newline='') as f:
        reader = csv.DictReader(f)
        header = [c.strip() for c in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise InputError(f'{path}: header {header} lacks {missing}; the '
                             f'first line must be '
                             f'{",".join(REQUIRED_COLUMNS)}')
        reader.fieldnames = header
        has_size = 'height' in header and 'width' in header
        boxes, names, sizes = [], [], []
        for line, row in enumerate(reader, start=2):
            box = [
                _parse_float(path, line, c, row[c])
                for c in REQUIRED_COLUMNS[1:]
            ]
            if box[2] <= box[0] or box[3] <= box[1]:
                raise InputError(f'{path}: line {line}: box {box} is empty '
                                 f'(need x2 > x1 and y2 > y1); columns are '
                                 f'x1,y1,x2,y2, not x,y,w,h')
            boxes.append(box)
            names.append(row['file_name'])
            if has_size:
                sizes.append([
                    _parse_float(path, line, c, row[c])
                    for c in ('height', 'width')
                ])
    if not boxes:
        raise InputError(f'{path}: no boxes below the header')
    return BoxSet(
        boxes=np.asarray(boxes, dtype=np.float64),
        file_names=names,
        image_sizes=np.asarray(sizes, dtype=np.float64) if has_size else None,
        source=path)


def write_json(path: str, payload: dict) -> None:
    """Write ``payload`` as indented JSON, creating the folder."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(payload, f, indent=2)
        f.write('\n')


def format_list(values: Sequence[float]) -> str:
    """``[0.7159, 1.0, 1.3968]``: Python literals, repr-exact."""
    return '[' + ', '.join(repr(float(v)) for v in values) + ']'


def config_snippet(ratios: Sequence[float],
                   scales: Sequence[float],
                   strides: Sequence[int],
                   header_lines: Sequence[str] = (),
                   base: Optional[str] = None) -> str:
    """A config that sets ``model.bbox_head.anchor_generator``.

    mmdet's ``AnchorGenerator`` refuses ``scales`` together with
    ``octave_base_scale``/``scales_per_octave``, which a RetinaNet base sets,
    so the snippet sets those two to None.

    Args:
        ratios (Sequence[float]): Ratios ``h / w``.
        scales (Sequence[float]): Scales, multipliers of the stride.
        strides (Sequence[int]): FPN strides.
        header_lines (Sequence[str]): Comment lines (without ``#``) at the
            top, e.g. the command and the figures. Defaults to ().
        base (str, optional): ``_base_`` to inherit from, or None for a
            fragment to inherit or merge. Defaults to None.

    Returns:
        str: Python config source.
    """
    lines = [f'# {h}'.rstrip() for h in header_lines]
    if base is not None:
        lines.append(f'_base_ = {base!r}')
    lines += [
        'model = dict(',
        '    bbox_head=dict(',
        '        anchor_generator=dict(',
        "            type='AnchorGenerator',",
        '            octave_base_scale=None,',
        '            scales_per_octave=None,',
        f'            scales={format_list(scales)},',
        f'            ratios={format_list(ratios)},',
        f'            strides={list(int(s) for s in strides)})))',
    ]
    return '\n'.join(lines) + '\n'


def write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path``, creating the folder."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
