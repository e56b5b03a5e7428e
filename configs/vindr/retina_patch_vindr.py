# Phase 1 on VinDr-Mammo: RetinaNet-R50-FPN pre-trained on 1024 x 1024
# patches of the official training split (retina_patch.py with the dataset
# swapped), validated on full-size mammograms of a study-grouped part of
# it, tested on the official test split.
#   python tools/train.py configs/vindr/retina_patch_vindr.py
# Splits and statistics are VinDr-Mammo's own, from its training split:
# splits/train.txt and splits/val.txt hold image_ids of the official
# training split, grouped by study_id; splits/train.stats.json holds the
# non-zero pixel mean/std of splits/train.txt (the statistics of the data
# this model is trained on; a run on INbreast that starts from it keeps
# its own INbreast statistics).
# Override the location with --cfg-options data_root=DIR [stats_file=FILE].
_base_ = ['../retina_patch.py']
custom_imports = dict(imports=['mmdet_inbreast'], allow_failed_imports=False)

dataset_type = 'VinDrMammoDataset'
data_root = 'data/vindr-mammo/'
stats_file = data_root + 'splits/train.stats.json'
classes = ('mass', )
metainfo = dict(classes=classes)

crop_size = (1024, 1024)  # (width, height); VinDr pixels are ~0.085 mm
patch_pipeline = [
    dict(type='LoadDicomImage'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='MassPreservingRandomCrop', crop_size=crop_size,
         min_visible=0.5, cut_policy='ignore', large_mass='shrink'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='ZeroIgnoringNormalize', stats_file=stats_file),
    dict(type='PackDetInputs', meta_keys={{_base_.meta_keys}}),
]
test_pipeline = [
    dict(type='LoadDicomImage'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='ZeroIgnoringNormalize', stats_file=stats_file),
    dict(type='PackDetInputs', meta_keys={{_base_.test_meta_keys}}),
]
train_dataloader = dict(
    dataset=dict(
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            ann_file='splits/train.txt',
            metainfo=metainfo,
            pipeline=patch_pipeline)))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='splits/val.txt',
        metainfo=metainfo,
        pipeline=test_pipeline))
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='',
        split='test',
        metainfo=metainfo,
        pipeline=test_pipeline))
model = dict(bbox_head=dict(num_classes=len(classes)))
