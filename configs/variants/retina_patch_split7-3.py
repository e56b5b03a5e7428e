# Train:test ratio 7:3 by patient (the seed thesis' split grid), with the
# val split that picks the best checkpoint carved by patient from the
# training portion (1/8 of its patients): test is never seen before the
# final evaluation. retina_patch.py on splits/ratio7-3/{train,val,test}.txt,
# normalised with the statistics of splits/ratio7-3/train.txt:
#   python tools/split_patients.py "data/INbreast Release 1.0" --ratios 0.7 0.3 --names train test --val-fraction 0.125 --out-dir "data/INbreast Release 1.0/splits/ratio7-3"
#   python tools/compute_stats.py "data/INbreast Release 1.0" --split splits/ratio7-3/train.txt
#   python tools/train.py configs/variants/retina_patch_split7-3.py
#   python tools/sweep.py configs/variants/retina_patch_split*.py --work-root work_dirs/sweep_split
_base_ = '../retina_patch.py'
split_dir = 'splits/ratio7-3/'
# tools/train.py --data-root moves this with the release folder.
stats_file = 'data/INbreast Release 1.0/splits/ratio7-3/train.stats.json'
# A config cannot change one element of an inherited list, so the
# pipelines are restated with this split's statistics.
patch_pipeline = [
    dict(type='LoadDicomImage'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='MassPreservingRandomCrop', crop_size={{_base_.crop_size}},
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
train_dataloader = dict(dataset=dict(dataset=dict(
    ann_file=split_dir + 'train.txt', pipeline=patch_pipeline)))
val_dataloader = dict(dataset=dict(ann_file=split_dir + 'val.txt',
                                   pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(ann_file=split_dir + 'test.txt',
                                    pipeline=test_pipeline))
