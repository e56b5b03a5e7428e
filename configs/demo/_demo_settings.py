# Shared settings of the demo runs, referenced as {{_base_.demo_*}}: R18 with
# random init (ImageNet weights cannot be downloaded here), a 1/8-scale
# synthetic release (416 x 510 images; masses 9-122 px) with anchors scaled
# down with the images (octave_base_scale 2: 16-203 px instead of 32-406),
# a lighter neck and head (128 channels, 2 stacked convs) so that a CPU learns
# from scratch in minutes, AdamW, and CPU-friendly loaders.
demo_data_root = 'data/demo/INbreast Release 1.0/'
demo_model = dict(
    backbone=dict(depth=18, init_cfg=None, frozen_stages=-1, norm_eval=False),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=128),
    bbox_head=dict(in_channels=128, feat_channels=128, stacked_convs=2,
                   anchor_generator=dict(octave_base_scale=2)))
demo_optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=35, norm_type=2))
demo_finetune_optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=3e-4, weight_decay=1e-4),
    clip_grad=dict(max_norm=35, norm_type=2))
demo_loader = dict(num_workers=0, persistent_workers=False)
demo_hooks = dict(logger=dict(interval=10), checkpoint=dict(max_keep_ckpts=1))
