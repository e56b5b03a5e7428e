"""Test (evaluate) a checkpoint with mmdet-inbreast's components registered.

Same flags and behaviour as mmdet's ``tools/test.py``; see
:mod:`mmdet_inbreast.apis.test` (``python -m mmdet_inbreast.apis.test``
is the same command).

Example:
    python tools/test.py configs/retina_full.py \
        work_dirs/retina_full/epoch_12.pth --show-dir vis
"""
from mmdet_inbreast.apis.test import main
from mmdet_inbreast.utils.cli import run_tool

if __name__ == '__main__':
    run_tool(main)
