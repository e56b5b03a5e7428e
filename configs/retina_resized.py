# Baseline: one phase on whole mammograms resized to a shorter side of 1700
# and a longer side of at most 2300 (the seed's resized run).
#   python tools/train.py configs/retina_resized.py
_base_ = [
    './_base_/models/retinanet_r50_fpn_inbreast.py',
    './_base_/datasets/inbreast_detection.py',
    './_base_/schedules/schedule_patch.py',
    './_base_/inbreast_runtime.py',
]
custom_imports = dict(imports=['mmdet_inbreast'], allow_failed_imports=False)

img_scale = (2300, 1700)  # (long edge max, short edge max), keep_ratio
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
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
optim_wrapper = dict(optimizer=dict(lr=0.0025))
auto_scale_lr = dict(base_batch_size=2)
