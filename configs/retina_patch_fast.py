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
model = dict(bbox_head=dict(loss_cls=dict(type='SigmoidFocalLoss')))
custom_hooks = [dict(type='ChannelsLastHook')]
# 16 workers per training process (the 16-core H100 machine, one GPU); with
# several GPUs on one node divide the cores between them:
#   --cfg-options train_dataloader.num_workers=2
train_dataloader = dict(num_workers=16)
# base_batch_size stays 8 (schedules/schedule_patch.py): lr 0.01 for 8
# patches, scaled by (GPUs x 8) / 8.
auto_scale_lr = dict(enable=True)
