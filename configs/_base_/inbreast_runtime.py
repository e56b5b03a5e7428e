_base_ = 'mmdet::_base_/default_runtime.py'

custom_imports = dict(imports=['mmdet_inbreast'], allow_failed_imports=False)
# A fixed seed (mmengine picks a random one when none is set): weight
# initialisation, crops and shuffling are the same on every run of a config
# (bit for bit on the same device and thread count). A study passes its own
# seed to every run.
randomness = dict(seed=0)
default_hooks = dict(
    # Stops training before its first step when stats_file was not computed
    # on train_dataloader's split, or the best checkpoint would be chosen on
    # the test split (mmdet_inbreast.utils.leak_check).
    stats_split_check=dict(type='StatsSplitCheckHook'),
    # Crops depend on (seed, epoch) only: resuming gives the same weights.
    epoch_seed=dict(type='EpochSeedHook'),
    # Stops before the first step if a model on a GPU would call an mmcv
    # CUDA kernel that this mmcv build lacks (docs/gpu.md).
    mmcv_ops_check=dict(type='MMCVOpsCheckHook'),
    logger=dict(type='LoggerHook', interval=20),
    # Atomic saves (a kill leaves no fragment), --resume falls back to the
    # newest intact file, and weights of another model are refused
    # (load_from_partial = True allows a partial load).
    checkpoint=dict(type='SafeCheckpointHook', interval=1, max_keep_ckpts=3,
                    save_best='coco/bbox_mAP_50', rule='greater'),
    # mmdet's hook cannot decode a DICOM; this one draws the windowed
    # mammogram, ground truth red, predictions blue (tools/test.py
    # --show-dir DIR writes <work_dir>/<timestamp>/DIR/<file_name>.png).
    visualization=dict(type='DicomVisualizationHook'))
