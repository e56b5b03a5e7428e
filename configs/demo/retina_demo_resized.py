# Demo baseline: whole 1/8-scale mammograms resized as the seed's resized run
# (shorter side 1700, longer at most 2300 at full size; 213 / 288 here), one
# phase, as many epochs as phase 1.
#   python tools/train.py configs/demo/retina_demo_resized.py --data-root DIR
_base_ = ['../retina_resized.py', './_demo_settings.py']
model = {{_base_.demo_model}}
default_hooks = {{_base_.demo_hooks}}
optim_wrapper = {{_base_.demo_optim_wrapper}}
img_scale = (288, 213)
train_pipeline = [
    dict(type='LoadDicomImage'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='ZeroIgnoringNormalize', stats_file={{_base_.stats_file}}),
    dict(type='PackDetInputs', meta_keys={{_base_.meta_keys}}),
]
test_pipeline = [
    dict(type='LoadDicomImage'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='ZeroIgnoringNormalize', stats_file={{_base_.stats_file}}),
    dict(type='PackDetInputs', meta_keys={{_base_.test_meta_keys}}),
]
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                        dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False,
                      dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(num_workers=0, persistent_workers=False,
                       dataset=dict(pipeline=test_pipeline))
max_epochs = 24
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=50),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[18], gamma=0.1),
]
