# Phase 1 reading the decoded-image cache: LoadDicomImage memory-maps
# <cache_dir>/<key>.npy (uint16, written once by tools/cache_images.py)
# instead of decoding each DICOM for every crop; an image missing from the
# cache is decoded as usual. cuDNN autotuning is on (fixed 1024 x 1024
# patches: one algorithm search per layer shape, then the fastest kernels).
#   python tools/cache_images.py "data/INbreast Release 1.0" --split splits/train.txt --cache-dir data/inbreast_cache --workers 8
#   python tools/train.py configs/retina_patch_cached.py
# The cache lives outside the release and does not move with --data-root;
# point the pipeline at another one with
#   --cfg-options train_dataloader.dataset.dataset.pipeline.0.cache_dir=DIR
_base_ = './retina_patch.py'

cache_dir = 'data/inbreast_cache/'
# A config cannot change one element of an inherited list, so the phase-1
# patch pipeline of retina_patch.py is restated with the cache set.
patch_pipeline = [
    dict(type='LoadDicomImage', cache_dir=cache_dir),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='MassPreservingRandomCrop', crop_size={{_base_.crop_size}},
         min_visible=0.5, cut_policy='ignore', large_mass='shrink'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='ZeroIgnoringNormalize', stats_file={{_base_.stats_file}}),
    dict(type='PackDetInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(dataset=dict(dataset=dict(pipeline=patch_pipeline)))
env_cfg = dict(cudnn_benchmark=True)
