# Demo INbreast phase 1 started from the demo VinDr-Mammo phase-1 model
# (./retina_demo_patch_vindr.py) instead of from scratch: the demo's
# retina_demo_patch.py with load_from. INbreast keeps its own splits and
# statistics.
#   python tools/train.py configs/demo/retina_demo_patch_from_vindr.py --data-root DIR
_base_ = ['./retina_demo_patch.py']
load_from = 'workdir://work_dirs/retina_demo_patch_vindr'
