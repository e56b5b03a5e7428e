"""Export a split of the INbreast release as COCO JSON (and 16-bit PNGs).

Boxes are the dataset's (x1, y1, x2, y2 in original pixels) written as COCO
[x, y, width, height]; images without masses are listed without
annotations. With ``--png-dir``, ``file_name`` is ``<key>.png`` and the
images are written there as 16-bit PNGs (raw values, no windowing);
without it, ``file_name`` is the DICOM path relative to DATA_ROOT. Files
the release scan refuses, or that fail to decode, are skipped and named
(``info.skipped`` in the JSON); the run goes on.

Example:
    python tools/inbreast_to_coco.py "data/INbreast Release 1.0" \
        --split splits/test.txt --out data/coco/test.json --png-dir data/coco/images
"""
import argparse
import sys

from tqdm import tqdm

from mmdet_inbreast.datasets.coco_export import export_coco
from mmdet_inbreast.utils.cli import run_tool


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('data_root', help='the release folder')
    p.add_argument('--split', help='split file (relative to DATA_ROOT '
                   'unless absolute); default: all images')
    p.add_argument('--out', required=True, help='COCO JSON path')
    p.add_argument('--png-dir', help='also write <key>.png (16-bit) here')
    p.add_argument('--classes', nargs='+', default=['mass'],
                   help='lesion types (default: mass)')
    return p.parse_args()


def main() -> None:
    args = parse_args()
    coco = export_coco(
        args.data_root, args.out, ann_file=args.split,
        png_dir=args.png_dir, classes=args.classes,
        progress=lambda it: tqdm(it, desc='png', file=sys.stderr))
    skipped = coco['info']['skipped']
    print(f'{len(skipped)} image(s) skipped' + (':' if skipped else ''))
    for item in skipped:
        error = f": {item['error']}" if item['error'] else ''
        print(f"  {item['file_name']} ({item['reason']}){error}")
    negatives = len({i['id'] for i in coco['images']} -
                    {a['image_id'] for a in coco['annotations']})
    print(f'{len(coco["images"])} images ({negatives} without boxes), '
          f'{len(coco["annotations"])} boxes, categories '
          f'{[c["name"] for c in coco["categories"]]} -> {args.out}')


if __name__ == '__main__':
    run_tool(main)
