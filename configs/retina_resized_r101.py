# Resized baseline with a ResNet-101 backbone (only the backbone changes).
_base_ = './retina_resized.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')),
    neck=dict(in_channels=[256, 512, 1024, 2048]))
