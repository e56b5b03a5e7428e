# Phase 1 on several GPUs with synchronised BatchNorm in the backbone:
# the BN statistics of a step are computed over the whole batch of all GPUs
# (e.g. 8 GPUs x 2 patches = 16) instead of each GPU's 2 patches.
#   bash tools/dist_train.sh configs/retina_patch_syncbn.py 8 --auto-scale-lr
#
# norm_eval=False, on purpose: mmdet's RetinaNet keeps norm_eval=True with
# ImageNet weights, which puts every BN layer in eval mode for the whole
# training (ImageNet running statistics, only the affine weights learn); in
# eval mode a SyncBN layer computes exactly what a BN layer does and
# synchronises nothing, so SyncBN with norm_eval=True would be a no-op. Here
# the statistics adapt to normalised mammogram patches, whose intensity
# distribution is far from ImageNet's, and SyncBN keeps them from being
# estimated on 2 patches per GPU. The frozen stem and stage 1
# (frozen_stages=1) stay in eval mode either way.
# SyncBN needs CUDA and a distributed run: mmengine's runner turns it back
# into plain BN when not distributed (one GPU, or the CPU), where this config
# then trains BN with norm_eval=False on the per-GPU batch.
_base_ = './retina_patch.py'

model = dict(
    backbone=dict(norm_cfg=dict(type='SyncBN', requires_grad=True),
                  norm_eval=False))
env_cfg = dict(cudnn_benchmark=True)
