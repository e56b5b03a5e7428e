# Phase 1 with a ResNet-34 backbone (only the backbone changes).
_base_ = './retina_patch.py'
model = dict(
    backbone=dict(
        depth=34,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet34')),
    neck=dict(in_channels=[64, 128, 256, 512]))
