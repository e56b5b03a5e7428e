# Phase 1, GPU throughput recipe: retina_patch_cached.py (decoded-image
# cache, cuDNN autotuning) plus bfloat16 autocast, channels-last weights,
# the pure-torch SigmoidFocalLoss (mmcv's CUDA focal-loss kernel has no
# bfloat16 version; tools/train.py would swap it in for bf16 anyway), more
# loader workers and the lr scaled by the total batch size.
#   python tools/cache_images.py "data/INbreast Release 1.0" --split splits/train.txt --cache-dir data/inbreast_cache --workers 16
#   bash tools/dist_train.sh configs/retina_patch_fast.py 8
#   python tools/train.py configs/retina_patch_fast.py        # one GPU
# tools/train.py reads amp_dtype (mmdet_inbreast.engine.setup_amp): the
# optimizer becomes an AmpOptimWrapper with dtype bfloat16 and loss scale 1.
_base_ = './retina_patch_cached.py'

amp_dtype = 'bfloat16'
# The patches leave the loader workers gray (4 MiB of float32 per 1024 x
# 1024 patch instead of 12 MiB); the data preprocessor makes the 3 channels
# on the GPU, after padding with the background value.
model = dict(
    data_preprocessor=dict(expand_channels=3),
    bbox_head=dict(loss_cls=dict(type='SigmoidFocalLoss')))
custom_hooks = [
    dict(type='StatsSplitCheckHook'),
    dict(type='ChannelsLastHook'),
]
# 16 workers per training process (the 16-core H100 machine, one GPU); with
# several GPUs on one node divide the cores between them:
#   --cfg-options train_dataloader.num_workers=2
# The pipeline is retina_patch_cached.py's, normalised to one channel (a
# config cannot change one element of an inherited list).
train_dataloader = dict(
    num_workers=16,
    dataset=dict(dataset=dict(pipeline=[
        dict(type='LoadDicomImage', cache_dir={{_base_.cache_dir}}),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='MassPreservingRandomCrop', crop_size={{_base_.crop_size}},
             min_visible=0.5, cut_policy='ignore', large_mass='shrink'),
        dict(type='RandomFlip', prob=0.5),
        dict(type='ZeroIgnoringNormalize', stats_file={{_base_.stats_file}},
             num_channels=1),
        dict(type='PackDetInputs', meta_keys={{_base_.meta_keys}}),
    ])))
# base_batch_size stays 8 (schedules/schedule_patch.py): lr 0.01 for 8
# patches, scaled by (GPUs x 8) / 8.
auto_scale_lr = dict(enable=True)
