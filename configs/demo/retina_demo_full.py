# Demo phase 2: full 1/8-scale mammograms (416 x 510, padded to 416 x 512),
# from the demo phase-1 checkpoint, backbone frozen.
#   python tools/train.py configs/demo/retina_demo_full.py --data-root DIR
_base_ = ['../retina_full.py', './_demo_settings.py']
model = {{_base_.demo_model}}
default_hooks = {{_base_.demo_hooks}}
optim_wrapper = {{_base_.demo_finetune_optim_wrapper}}
load_from = 'workdir://work_dirs/retina_demo_patch'
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False)
val_dataloader = {{_base_.demo_loader}}
test_dataloader = {{_base_.demo_loader}}
max_epochs = 4
train_cfg = dict(max_epochs=max_epochs, val_interval=2)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[3], gamma=0.1),
]
