"""Detect masses in DICOM mammograms: one JSON and one overlay PNG per image.

INPUT is a DICOM file or a folder of them (``*.dcm``, ``*.dicom``, or files
without extension that carry the DICOM magic); no CSV, XML or split file is
needed. Each ``<name>.json`` (``<name>``: the input's path relative to the
input folder, extension kept, so ``a``, ``a.dcm`` and ``a.dicom`` write
``a.json``, ``a.dcm.json`` and ``a.dicom.json``) holds ``file``, ``size``,
``boxes`` (x1, y1, x2, y2 in original-image pixels), ``scores`` and
``labels`` of the predictions with score >= ``--score-thr``; ``<name>.png``
shows them in blue on the windowed mammogram. Files that are not single-frame grayscale
mammograms (another Modality, no pixel data, colour, truncated...) are
reported and skipped; the others still run. ``infer_report.json`` lists both.
Exit status 1 when no file could be processed, 2 (one ``error:`` line) when
INPUT holds no DICOM file.

Example:
    python tools/infer.py configs/retina_full.py \
        work_dirs/retina_full/epoch_12.pth "data/INbreast Release 1.0/AllDICOMs" \
        --out work_dirs/infer --score-thr 0.3
"""
import argparse
import sys

from tqdm import tqdm

from mmdet_inbreast.apis import (DEFAULT_MODALITIES, find_dicom_files,
                                 infer_dicoms, init_inbreast_detector)
from mmdet_inbreast.utils import InputError
from mmdet_inbreast.utils.cli import add_model_args, run_tool


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_args(p)
    p.add_argument('input', help='a DICOM file or a folder of DICOM files')
    p.add_argument('--out', default='infer_out',
                   help='output folder (default: infer_out)')
    p.add_argument('--score-thr', type=float, default=0.3,
                   help='keep predictions with score >= this (default 0.3)')
    p.add_argument('--max-size', type=int, default=2048,
                   help='longest side of the overlay PNG (default 2048)')
    p.add_argument('--no-overlay', action='store_true',
                   help='write the JSON files only')
    g = p.add_mutually_exclusive_group()
    g.add_argument('--modalities', nargs='+',
                   default=list(DEFAULT_MODALITIES),
                   help='accepted DICOM Modality values (default: MG)')
    g.add_argument('--any-modality', action='store_true',
                   help='run on any modality (results are meaningless '
                   'outside mammography)')
    return p.parse_args()


def main() -> None:
    args = parse_args()
    files = find_dicom_files(args.input)
    if not files:
        raise InputError(
            f'{args.input}: no DICOM file found (*.dcm, *.dicom, *.dic, or '
            'files without extension that start with the DICOM preamble); '
            'give a DICOM file or the folder that holds them')
    model = init_inbreast_detector(
        args.config, args.checkpoint, device=args.device,
        cfg_options=args.cfg_options, data_root=args.data_root,
        stats_file=args.stats_file, score_thr=args.score_thr)
    report = infer_dicoms(
        model, files, args.out, score_thr=args.score_thr,
        overlay=not args.no_overlay, max_size=args.max_size,
        modalities=None if args.any_modality else args.modalities,
        progress=lambda it: tqdm(it, desc='images', file=sys.stderr))
    print(f'{"file":<48}{"boxes":>6}{"max score":>11}')
    for r in report.written:
        score = '' if r['max_score'] is None else f'{r["max_score"]:.3f}'
        print(f'{r["file"][-48:]:<48}{r["num_boxes"]:>6}{score:>11}')
    for path, error in report.skipped.items():
        print(f'skipped {error}', file=sys.stderr)
    print(f'{len(report.written)} written, {len(report.skipped)} skipped -> '
          f'{args.out}')
    if not report.written:
        sys.exit(1)


if __name__ == '__main__':
    run_tool(main)
