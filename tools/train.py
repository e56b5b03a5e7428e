"""Train a detector with mmdet-inbreast's components registered.

Same flags and behaviour as mmdet's ``tools/train.py``; see
:mod:`mmdet_inbreast.apis.train` (``python -m mmdet_inbreast.apis.train``
is the same command).

Example:
    python tools/train.py configs/retina_patch.py \
        --data-root "data/synthetic/INbreast Release 1.0"
"""
from mmdet_inbreast.apis.train import main
from mmdet_inbreast.utils.cli import run_tool

if __name__ == '__main__':
    run_tool(main)
