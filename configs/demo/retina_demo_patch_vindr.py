# Demo phase 1 on a synthetic VinDr-Mammo release: the demo model
# (./_demo_settings.py) on 160 x 160 patches of VinDr's training split
# (configs/vindr/retina_patch_vindr.py with the demo's model, crops and
# schedule). Its model starts INbreast phase 1 in
# ./retina_demo_patch_from_vindr.py (configs/studies/demo_vindr_pretrain.py).
#   python tools/train.py configs/demo/retina_demo_patch_vindr.py \
#       --data-root demo_output/data/vindr-mammo
_base_ = ['../vindr/retina_patch_vindr.py', './_demo_settings.py']
model = {{_base_.demo_model}}
default_hooks = {{_base_.demo_hooks}}
optim_wrapper = {{_base_.demo_optim_wrapper}}
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(dataset=dict(pipeline=[
        dict(type='LoadDicomImage'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='MassPreservingRandomCrop', crop_size=(160, 160),
             tissue_stride=4),
        dict(type='RandomFlip', prob=0.5),
        dict(type='ZeroIgnoringNormalize',
             stats_file={{_base_.stats_file}}),
        dict(type='PackDetInputs', meta_keys={{_base_.meta_keys}}),
    ])))
val_dataloader = {{_base_.demo_loader}}
test_dataloader = {{_base_.demo_loader}}
max_epochs = 16
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=50),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[12], gamma=0.1),
]
