# Phase 2 with a ResNet-34 backbone, from the retina_patch_r34 run.
_base_ = './retina_full.py'
load_from = 'workdir://work_dirs/retina_patch_r34'
model = dict(backbone=dict(depth=34), neck=dict(in_channels=[64, 128, 256, 512]))
