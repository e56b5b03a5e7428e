# Shared settings of the demo runs, referenced as {{_base_.demo_*}}. The
# demo runs on a 1/8-scale synthetic release (416 x 510 images; masses 9-122
# px), so the anchors shrink with the images (octave_base_scale 2: 16-203 px
# instead of 32-406). The model is small enough for a CPU to learn from
# scratch (ImageNet weights cannot be downloaded here) in minutes: a
# half-width ResNet-18 (base_channels 32), a 64-channel neck and head with 2
# stacked convs and GroupNorm; a full-width R18 with mmdet's head reached
# AP50 0.18 after 8 patch epochs here, this one 0.51 after 5. AdamW, and
# CPU-friendly loaders.
demo_model = dict(
    backbone=dict(depth=18, base_channels=32, init_cfg=None, frozen_stages=-1,
                  norm_eval=False),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    bbox_head=dict(in_channels=64, feat_channels=64, stacked_convs=2,
                   norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
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
