# Phase 2: fine-tune on full-size mammograms (no resize; padded to a
# multiple of 32 with the normalised background) from the phase-1 weights,
# backbone frozen (weights and BatchNorm statistics).
#   python tools/train.py configs/retina_full.py
# load_from = 'workdir://DIR' loads the checkpoint DIR/last_checkpoint names
# (a checkpoint scheme that mmdet_inbreast registers with mmengine).
_base_ = [
    './_base_/models/retinanet_r50_fpn_inbreast.py',
    './_base_/datasets/inbreast_detection.py',
    './_base_/schedules/schedule_finetune.py',
    './_base_/inbreast_runtime.py',
]
custom_imports = dict(imports=['mmdet_inbreast'], allow_failed_imports=False)

load_from = 'workdir://work_dirs/retina_patch'
model = dict(backbone=dict(init_cfg=None))  # weights come from load_from
custom_hooks = [
    dict(type='StatsSplitCheckHook'),
    dict(type='FreezeBackboneHook'),
]
train_dataloader = dict(batch_size=2)
# Frozen parameters get no gradient: DDP must not wait for them.
model_wrapper_cfg = dict(type='MMDistributedDataParallel',
                         find_unused_parameters=True)
