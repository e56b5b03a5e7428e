# Resized baseline with a ResNet-18 backbone (only the backbone changes).
_base_ = './retina_resized.py'
model = dict(
    backbone=dict(
        depth=18,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet18')),
    neck=dict(in_channels=[64, 128, 256, 512]))
