_base_ = 'mmdet::_base_/default_runtime.py'

custom_imports = dict(imports=['mmdet_inbreast'], allow_failed_imports=False)
default_hooks = dict(
    # Crops depend on (seed, epoch) only: resuming gives the same weights.
    epoch_seed=dict(type='EpochSeedHook'),
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
