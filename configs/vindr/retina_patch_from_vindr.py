# INbreast phase 1 initialised from the VinDr-Mammo phase-1 model instead of
# ImageNet: retina_patch.py with load_from. INbreast keeps its own splits
# and statistics (the pipeline normalises with INbreast's training split).
#   python tools/train.py configs/vindr/retina_patch_vindr.py
#   python tools/train.py configs/vindr/retina_patch_from_vindr.py
#   python tools/train.py configs/retina_full.py --cfg-options load_from=workdir://work_dirs/retina_patch_from_vindr
# load_from = 'workdir://DIR' loads the checkpoint DIR/last_checkpoint names
# (a checkpoint scheme that mmdet_inbreast registers with mmengine).
_base_ = ['../retina_patch.py']
custom_imports = dict(imports=['mmdet_inbreast'], allow_failed_imports=False)

load_from = 'workdir://work_dirs/retina_patch_vindr'
model = dict(backbone=dict(init_cfg=None))  # weights come from load_from
