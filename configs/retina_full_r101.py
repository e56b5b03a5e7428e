# Phase 2 with a ResNet-101 backbone, from the retina_patch_r101 run.
_base_ = './retina_full.py'
load_from = 'workdir://work_dirs/retina_patch_r101'
model = dict(backbone=dict(depth=101), neck=dict(in_channels=[256, 512, 1024, 2048]))
