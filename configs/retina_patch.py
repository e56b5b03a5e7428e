# Phase 1 of the seed's two-phase training: RetinaNet-R50-FPN pre-trained on
# 1024 x 1024 patches, each holding one whole mass (5 crops per positive
# image per epoch, 2 per negative, a fresh random crop each time), validated
# on full-size mammograms of the val split.
#   python tools/train.py configs/retina_patch.py
_base_ = [
    './_base_/models/retinanet_r50_fpn_inbreast.py',
    './_base_/datasets/inbreast_detection.py',
    './_base_/schedules/schedule_patch.py',
    './_base_/inbreast_runtime.py',
]
custom_imports = dict(imports=['mmdet_inbreast'], allow_failed_imports=False)

crop_size = (1024, 1024)  # (width, height)
patch_pipeline = [
    dict(type='LoadDicomImage'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='MassPreservingRandomCrop', crop_size=crop_size,
         min_visible=0.5, cut_policy='ignore', large_mass='shrink'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='ZeroIgnoringNormalize', stats_file={{_base_.stats_file}}),
    dict(type='PackDetInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(
    batch_size=8,
    batch_sampler=None,
    dataset=dict(
        _delete_=True,
        type='MassRepeatDataset',
        pos_times=5,
        neg_times=2,
        dataset=dict(
            type={{_base_.dataset_type}},
            data_root={{_base_.data_root}},
            ann_file='splits/train.txt',
            pipeline=patch_pipeline)))
