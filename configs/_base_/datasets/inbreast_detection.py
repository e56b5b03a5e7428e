# INbreast, read as the release ships (INbreastDataset), patient-grouped
# splits written by tools/split_patients.py (val and test hold other
# patients than train) and zero-ignoring statistics of the training split,
# written beside it (splits/train.stats.json, with the split's sha256):
#   python tools/split_patients.py "data/INbreast Release 1.0" --ratios 0.7 0.1 0.2
#   python tools/compute_stats.py "data/INbreast Release 1.0" --split splits/train.txt
# StatsSplitCheckHook stops training when stats_file was not computed on
# the training split (ann_file of train_dataloader), or when the best
# checkpoint would be chosen on the test split.
# Override the location with --cfg-options data_root=DIR [stats_file=FILE]
# (tools/train.py and tools/test.py carry it into every dataset and pipeline).
dataset_type = 'INbreastDataset'
data_root = 'data/INbreast Release 1.0/'
stats_file = data_root + 'splits/train.stats.json'
backend_args = None

meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
             'flip', 'flip_direction', 'background_value', 'file_name',
             'patient_id', 'crop_offset')
# Ground truth in the original frame, for CocoMetric/FROCMetric without an
# annotation file.
test_meta_keys = meta_keys + ('instances', )

# Full-size mammograms, no resize (the model pads to a multiple of 32 with
# the normalised background).
train_pipeline = [
    dict(type='LoadDicomImage'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='ZeroIgnoringNormalize', stats_file=stats_file),
    dict(type='PackDetInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadDicomImage'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='ZeroIgnoringNormalize', stats_file=stats_file),
    dict(type='PackDetInputs', meta_keys=test_meta_keys),
]

train_dataloader = dict(
    batch_size=1,
    num_workers=2,
    # SeededSampler gives every sample a seed from (seed, epoch, index), and
    # the dataset seeds the random transforms with it: crops do not depend
    # on the worker, so workers persist across epochs and a resumed run
    # draws the same crops as the uninterrupted one.
    persistent_workers=True,
    # Fresh worker streams for anything not seeded per sample.
    worker_init_fn=dict(type='inbreast_worker_init_fn'),
    pin_memory=True,
    sampler=dict(type='SeededSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='splits/train.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    pin_memory=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='splits/val.txt',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    val_dataloader,
    dataset=dict(val_dataloader['dataset'], ann_file='splits/test.txt'))

val_evaluator = [
    dict(type='INbreastCocoMetric', ann_file=None, metric='bbox', format_only=False),
    dict(type='FROCMetric'),
]
test_evaluator = val_evaluator

# A config that sets its own custom_hooks lists this one again.
custom_hooks = [dict(type='StatsSplitCheckHook')]
