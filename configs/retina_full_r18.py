# Phase 2 with a ResNet-18 backbone, from the retina_patch_r18 run.
_base_ = './retina_full.py'
load_from = 'workdir://work_dirs/retina_patch_r18'
model = dict(backbone=dict(depth=18), neck=dict(in_channels=[64, 128, 256, 512]))
