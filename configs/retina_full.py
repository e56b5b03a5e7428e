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
# Weights come from load_from. The backbone is frozen as it is built (every
# stage, BatchNorm in eval mode), before DDP wraps the model: DDP leaves the
# frozen parameters out, so it needs no find_unused_parameters.
model = dict(backbone=dict(init_cfg=None, frozen_stages=4, norm_eval=True))
# Checks the freeze and logs the trainable parameter count.
custom_hooks = [dict(type='FreezeBackboneHook')]
train_dataloader = dict(batch_size=2)
